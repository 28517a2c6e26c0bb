using Akka.Actor;
using Akka.Configuration;
using TrainManager.Node.Hosting;
using TrainManager.Protocol.Configuration;
using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Protocol.Security;
using TrainManager.Protocol.Serialization;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// The cluster as an outsider on the same network meets it, with real node processes: a node, a client and a plain
/// Akka system without the cluster secret are each refused before anything they send is read, while a client with the
/// secret is served and a run finishes beside them.
/// </summary>
[Collection(NodeProcessCollection.Name)]
public sealed class ClusterSecurityTests(PostgresJournalTests.Server server) : NodeProcessTests(server)
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [PostgresFact]
    public async Task Without_the_cluster_secret_a_node_a_client_and_a_plain_akka_system_are_refused_and_a_run_beside_them_finishes()
    {
        var journal = Server.Postgres.CreateDatabase();
        var ports = NodeProcess.FreePorts(2);
        var seeds = $"127.0.0.1:{ports[0]}";
        var coordinator = StartNode("coordinator", ports[0], seeds, "coordinator,worker", journal);
        await coordinator.JoinedAsync(Long);

        var otherSecret = Path.Combine(Root, "other.secret");
        ClusterSecret.Create(otherSecret);

        // A node with another secret: it must never become a member, so never get a slot or a rank.
        var intruder = StartNode("intruder", ports[1], seeds, "worker", journal,
            environment: new Dictionary<string, string> { ["TRAINMANAGER_SECRET_FILE"] = otherSecret });

        // A client with another secret: told why, not left to time out on "no cluster answered".
        var refused = await Assert.ThrowsAsync<ClusterUnavailableException>(() =>
            ClusterSession.JoinAsync(null, [seeds], TimeSpan.FromSeconds(10), new ClusterOverrides { SecretFile = otherSecret }));
        Assert.Contains("failed its secret check", refused.Message);
        Assert.Contains("--secret-file", refused.Message);

        // A plain Akka system, not a member, sending what Akka's default serializer turns into any .NET type it names.
        using (var outsider = ActorSystem.Create("trainmanager", ConfigurationFactory.ParseString("""
                   akka.actor.provider = remote
                   akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
                   akka.loglevel = ERROR
                   """)))
        {
            var registry = outsider.ActorSelection($"akka.tcp://trainmanager@127.0.0.1:{ports[0]}/user/{ClusterBootstrap.RegistryProxyName}");
            registry.Tell(new Version(1, 2, 3, 4));
            registry.Tell(new List<Uri> { new("http://example.org/") });
            await Task.Delay(TimeSpan.FromSeconds(3));
        }

        using (var session = await ClusterSession.JoinAsync(null, [seeds], Long))
        {
            var runId = Submitted(await session.AskAsync(ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 2, name: "beside"))));
            var ended = await session.FollowAsync(runId, new Silent()).WaitAsync(Long * 3);
            RunAssert.EndedAs(RunStatus.Finished, ended);
            var details = (RunDetails)await session.AskAsync(new GetRun(runId));
            var submitted = details.History.OfType<ExperimentSubmitted>().Single();
            Assert.StartsWith("cluster secret ", submitted.ProvenBy);
            Assert.Contains($"from 127.0.0.1:", submitted.ProvenBy);
            Assert.Contains(details.History.OfType<ExperimentStarted>(), s => s.Slot.Node.EndsWith($":{ports[0]}", StringComparison.Ordinal));

            var members = Akka.Cluster.Cluster.Get(session.System).State.Members;
            Assert.DoesNotContain(members, m => m.Address.Port == ports[1]);
        }

        var log = coordinator.AllOutput;
        Assert.False(intruder.AllOutput.Contains("Joined the cluster", StringComparison.Ordinal), $"the intruder joined:\n{intruder.Output}");
        Assert.Contains("it closed the connection before proving the cluster secret", log);   // the node and the client
        Assert.Contains("it sent a message before proving the secret", log);                  // the plain Akka system
        Assert.DoesNotContain("System.Version", log);
        Assert.DoesNotContain("example.org", log);
    }

    sealed class Silent : IRunObserver;
}

/// <summary>What the coordinator refuses from members that do hold the secret: another runs root, Akka's JSON serializer.</summary>
public sealed class ClusterRefusalTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    readonly ClusterNodes _nodes = new();

    [Fact]
    public void A_submission_that_names_its_own_runs_root_is_rejected_and_nothing_is_written_there()
    {
        var (coordinator, roles) = _nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker]);
        var elsewhere = Path.Combine(_nodes.Root, "elsewhere");
        var client = CreateTestProbe(coordinator);
        client.Send(roles.Coordinator, ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 1), runsRoot: elsewhere));
        var rejected = client.ExpectMsg<SubmitRejected>(TimeSpan.FromSeconds(20));
        Assert.Contains("cannot choose where its run is written", rejected.Reason);
        Assert.Contains("--runs-dir on the node", rejected.Reason);
        Assert.False(Directory.Exists(elsewhere));
    }

    [Fact]
    public async Task An_experiment_whose_data_path_is_outside_the_nodes_data_roots_fails_as_bad_input_before_reading_it()
    {
        var (coordinator, roles) = _nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker]);
        var outside = Path.Combine(_nodes.Root, "not-a-data-root");
        var hocon = ClusterNodes.Experiment(epochs: 1).Replace(
            Training.TrainingFixtures.SlicePath.Replace("\\", "\\\\"), outside, StringComparison.Ordinal);
        Assert.Contains(outside, hocon);
        var session = ClusterSession.Over(coordinator, roles.Coordinator, TimeSpan.FromSeconds(20));
        var runId = ((SubmitAccepted)await session.AskAsync(ClusterRequests.Submit(hocon))).RunId;
        var ended = await session.FollowAsync(runId, new Silent()).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(RunStatus.Failed, ended.Status);
        Assert.Equal(FailureKind.BadInput, ended.FailureKind);
        Assert.Contains($"data.path '{outside}' is outside the folders this node reads data from", ended.Reason);
        Assert.Contains("--data-roots", ended.Reason);
    }

    sealed class Silent : IRunObserver;

    [Fact]
    public async Task A_message_for_akkas_json_serializer_is_refused_unread_even_from_a_holder_of_the_secret()
    {
        var (member, _) = _nodes.Start([NodeRoles.Coordinator]);
        var probe = CreateTestProbe(member);
        member.ActorOf(Props.Create(() => new Forward(probe.Ref)), "target");
        var address = Akka.Cluster.Cluster.Get(member).SelfAddress;

        // Same secret, but Akka's own JSON serializer put back and bound to System.Version, as a hostile build would.
        var sender = ActorSystem.Create(ClusterConfiguration.SystemName, ConfigurationFactory.ParseString("""
            akka.actor.serializers.json = "Akka.Serialization.NewtonSoftJsonSerializer, Akka"
            akka.actor.serialization-bindings { "System.Version" = json }
            akka.loglevel = ERROR
            """).WithFallback(_nodes.Config([NodeRoles.Cli])));
        var logs = CreateTestProbe(member);
        member.EventStream.Subscribe(logs.Ref, typeof(Akka.Event.LogEvent));
        try
        {
            // It does leave as Akka's JSON (serializer 1), naming its .NET type.
            Assert.Equal(RefusingSerializer.ReplacedId, sender.Serialization.FindSerializerFor(new Version(1, 2, 3, 4)).Identifier);
            var target = sender.ActorSelection(new RootActorPath(address) / "user" / "target");
            target.Tell(new Version(1, 2, 3, 4));
            logs.FishForMessage<Akka.Event.LogEvent>(e => $"{e.Message} {e.Cause}".Contains("refused a message for Akka's JSON serializer", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10));
            probe.ExpectNoMsg(TimeSpan.FromSeconds(1));
            target.Tell(ListRuns.Instance); // the same path, our protocol: arrives, so the silence above was the refusal
            probe.ExpectMsg<ListRuns>(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await sender.Terminate().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    sealed class Forward : ReceiveActor
    {
        public Forward(IActorRef to) => ReceiveAny(m => to.Forward(m));
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// The attacks of the issue at once, beside a data-parallel run: idle connections on every data port, a plain Akka
/// system sending default-serialized messages, a client with another secret trying to join. The run is paced (each
/// batch at least 100 ms), so its time is the pace, not the machine's load, and a disturbance that delays it shows.
/// It runs alone (the node-process collection), after the rest.
/// </summary>
[Collection(NodeProcessCollection.Name)]
public sealed class AttacksBesideARunTests(Xunit.Abstractions.ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    readonly ClusterNodes _nodes = new();

    static string Paced(string name) => ClusterNodes.Experiment(epochs: 8, name: name, trainLimit: 1280, checkpointEvery: 1,
        extensions: $"{{ type = {PaceExtension.Type}, min-batch-ms = 100 }}") + """

        workers = 2
        data-parallel { min-workers = 2, replacement-wait = 30 s }
        """;

    [Fact]
    public async Task A_data_parallel_run_finishes_within_ten_percent_of_its_undisturbed_time_while_outsiders_hold_and_hammer_every_port()
    {
        var dataPorts = NodeProcess.FreePorts(1);
        var (member, roles) = _nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker], devices: ["cpu", "cpu"],
            extraHocon: $"trainmanager.node.data-port = {dataPorts[0]}");
        var session = ClusterSession.Over(member, roles.Coordinator, TimeSpan.FromSeconds(20));
        var address = Akka.Cluster.Cluster.Get(member).SelfAddress;

        async Task<TimeSpan> Run(string name)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var runId = ((SubmitAccepted)await session.AskAsync(ClusterRequests.Submit(Paced(name)))).RunId;
            var ended = await session.FollowAsync(runId, new Silent()).WaitAsync(TimeSpan.FromMinutes(3));
            RunAssert.EndedAs(RunStatus.Finished, ended);
            return clock.Elapsed;
        }

        await Run("warm-up"); // JIT and the first data load, paid by neither measured run (the same 8 s: a shorter one would
                              // leave paths of the longer runs cold)
        var undisturbed = await Run("undisturbed");

        using var stop = new CancellationTokenSource();
        var idle = new List<System.Net.Sockets.TcpClient>();
        for (var slot = 0; slot < 2; slot++)
            for (var i = 0; i < 6; i++)
            {
                var connection = new System.Net.Sockets.TcpClient();
                await connection.ConnectAsync(System.Net.IPAddress.Loopback, dataPorts[0] + slot);
                idle.Add(connection);
            }
        var outsider = ActorSystem.Create("trainmanager", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.loglevel = OFF
            """));
        var hammer = Task.Run(async () =>
        {
            var registry = outsider.ActorSelection(new RootActorPath(address) / "user" / ClusterBootstrap.RegistryProxyName);
            while (!stop.IsCancellationRequested)
            {
                registry.Tell(new Version(1, 2, 3, 4));
                await Task.Delay(50);
            }
        });
        var otherSecret = Path.Combine(_nodes.Root, "other.secret");
        ClusterSecret.Create(otherSecret);
        // One client with another secret, as the run starts: refused. (Looping it would measure what starting actor
        // systems costs two cores, not whether the gate holds anything up.)
        var joiner = Task.Run(async () =>
        {
            try
            {
                using var session = await ClusterSession.JoinAsync(null, [$"127.0.0.1:{address.Port}"], TimeSpan.FromSeconds(5),
                    new ClusterOverrides { SecretFile = otherSecret });
                return 0;
            }
            catch (ClusterUnavailableException e) when (e.Message.Contains("failed its secret check", StringComparison.Ordinal))
            {
                return 1;
            }
        });

        TimeSpan disturbed;
        try
        {
            disturbed = await Run("disturbed");
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var connection in idle)
                connection.Dispose();
            await outsider.Terminate();
        }
        await hammer;
        var refusals = await joiner;
        // Undisturbed again, after: the two undisturbed runs bracket the disturbed one, so a machine whose load changes
        // meanwhile (another job beside the tests) moves the baseline with it.
        var after = await Run("undisturbed-again");
        var baseline = undisturbed > after ? undisturbed : after;
        output.WriteLine($"undisturbed {undisturbed.TotalSeconds:0.00} s and {after.TotalSeconds:0.00} s, beside the attacks {disturbed.TotalSeconds:0.00} s " +
                         $"({disturbed / baseline:0.000}x); {idle.Count} idle data-port connections, {refusals} refused join");
        Assert.True(refusals == 1, "the client with another secret was not refused");
        Assert.True(disturbed <= baseline * 1.10,
            $"the run took {disturbed.TotalSeconds:0.00} s beside the attacks, {undisturbed.TotalSeconds:0.00} s and {after.TotalSeconds:0.00} s without: more than 10% longer");
    }

    sealed class Silent : IRunObserver;

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
