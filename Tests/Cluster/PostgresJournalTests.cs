using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>The journal of a real cluster: PostgreSQL, schema created on first start, read back by a new coordinator.</summary>
public sealed class PostgresJournalTests : Akka.TestKit.Xunit2.TestKit, IClassFixture<PostgresJournalTests.Server>, IDisposable
{
    /// <summary>One server for the class; created lazily so a skipped test starts nothing.</summary>
    public sealed class Server : IDisposable
    {
        readonly Lazy<ThrowawayPostgres> _postgres = new(() => new ThrowawayPostgres());
        public ThrowawayPostgres Postgres => _postgres.Value;
        public void Dispose()
        {
            if (_postgres.IsValueCreated)
                _postgres.Value.Dispose();
        }
    }

    static readonly TimeSpan Long = TimeSpan.FromSeconds(45);
    readonly Server _server;
    readonly ClusterNodes _nodes = new();

    public PostgresJournalTests(Server server) => _server = server;

    [PostgresFact]
    public async Task A_coordinator_on_postgresql_creates_its_schema_and_a_new_coordinator_recovers_the_runs()
    {
        var connection = _server.Postgres.CreateDatabase();
        var postgres = $"""
            trainmanager.persistence.store = postgresql
            trainmanager.persistence.postgresql.connection-string = "{connection}"
            """;
        var (first, roles) = _nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker], extraHocon: postgres);
        var client = CreateTestProbe(first);
        client.Send(roles.Coordinator, ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 2)));
        var runId = client.ExpectMsg<SubmitAccepted>(Long).RunId;
        client.Send(roles.Coordinator, new FollowRun(runId));
        RunAssert.EndedAs(RunStatus.Finished, (RunEnded)client.FishForMessage(m => m is RunEnded, Long));
        await first.Terminate().WaitAsync(Long);

        var (second, secondRoles) = _nodes.Start([NodeRoles.Coordinator], extraHocon: postgres);
        var observer = CreateTestProbe(second);
        AwaitAssert(() =>
        {
            observer.Send(secondRoles.Coordinator, new GetRun(runId));
            var details = observer.ExpectMsg<RunDetails>(TimeSpan.FromSeconds(5));
            RunAssert.HasStatus(RunStatus.Finished, details);
            Assert.Equal(2, details.Checkpoints.Count);
        }, Long);
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
