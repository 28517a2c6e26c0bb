using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// For tests that run the cluster as it is deployed: node processes on loopback sharing a PostgreSQL journal and a runs
/// directory under a temporary folder. Every node started is killed when the test ends, and the folder deleted.
/// </summary>
public abstract class NodeProcessTests(PostgresJournalTests.Server server) : IClassFixture<PostgresJournalTests.Server>, IDisposable
{
    readonly List<NodeProcess> _nodes = [];

    protected PostgresJournalTests.Server Server { get; } = server;

    protected string Root { get; } = Training.TrainingFixtures.TempDir();

    /// <summary>Starts a node in this test's folder: runs under <c>runs/</c>, its own state under <c>NAME/</c>.</summary>
    private protected NodeProcess StartNode(string name, int port, string seeds, string roles, string journal, string? config = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var node = NodeProcess.Start(name, port, seeds, roles, journal, Path.Combine(Root, "runs"), Path.Combine(Root, name), config, environment);
        _nodes.Add(node);
        return node;
    }

    /// <summary>The tail of every node's output, for a failure message.</summary>
    protected string Logs() => string.Join("\n\n", _nodes.Select(n => $"--- {n.Name} ---\n{n.Output}"));

    /// <summary><paramref name="task"/>'s result, or a failure that says what was waited for, with every node's output.</summary>
    protected async Task<T> Within<T>(Task<T> task, TimeSpan limit, string what)
    {
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"waited {limit.TotalSeconds:0} s in vain for {what}\n{Logs()}");
        }
    }

    protected Task Within(Task task, TimeSpan limit, string what) => Within(task.ContinueWith(t => t.IsCompletedSuccessfully), limit, what);

    /// <summary>Follows a run to the moments a test kills a node at: its placement, and a third of the way into epoch 2
    /// (epoch 1's checkpoint written).</summary>
    protected sealed class MidRunWatch : TrainManager.Cli.Client.IRunObserver
    {
        public TaskCompletionSource<ExperimentScheduled> Scheduled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource MidEpochTwo { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Placement is quick: it may be in the history the follow starts with.
        public void OnDetails(RunDetails details)
        {
            foreach (var e in details.History)
                OnEvent(e);
        }

        public void OnEvent(IExperimentEvent e)
        {
            if (e is ExperimentScheduled scheduled)
                Scheduled.TrySetResult(scheduled);
        }

        public void OnProgress(RunProgress progress)
        {
            // At or past the point: a follower that joins late, or progress reported seldom, still gets it mid-run.
            if (progress.Epoch > 2 || (progress.Epoch == 2 && progress.BatchIndex >= progress.BatchesPerEpoch / 3))
                MidEpochTwo.TrySetResult();
        }
    }

    protected static string Submitted(object answer) => answer is SubmitAccepted accepted
        ? accepted.RunId
        : throw new Xunit.Sdk.XunitException($"the coordinator answered {answer}");

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Kill();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The tests that start node processes: several processes on two cores, with kills timed against the progress the
/// runs report. They run alone, after the rest, so that neither they nor the in-process cluster tests are slowed
/// past their timings by the other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NodeProcessCollection
{
    public const string Name = "cluster node processes";
}
