using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Tests.Experiments;
using Xunit.Abstractions;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// A data-parallel run as it is deployed: a coordinator and three worker nodes as processes on loopback, a PostgreSQL
/// journal, the MLP example with <c>workers = 3</c>. An uninterrupted run gives the accuracy to match; then a second
/// run loses a node to SIGKILL in the middle of an epoch, re-forms on the two live nodes from its last checkpoint,
/// finishes, and ends within a point of the first.
/// </summary>
[Collection(NodeProcessCollection.Name)]
public sealed class DataParallelMultiProcessTests(PostgresJournalTests.Server server, ITestOutputHelper output) : NodeProcessTests(server)
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    const int Epochs = 4;

    /// <summary>The MLP example as a user would submit it with --set: three workers, one thread each, a slice of the
    /// training set and the whole test set (so one point of accuracy is a hundred images, not noise).</summary>
    static string Experiment(string name) =>
        File.ReadAllText(Path.Combine(ExperimentText.RepositoryRoot, "examples", "fashion-mnist-mlp.hocon")) + $$"""

        name = {{name}}
        epochs = {{Epochs}}
        threads = 1
        workers = 3
        data-parallel { min-workers = 2, replacement-wait = 2 s }
        data { train-limit = 24000, test-limit = 0 }
        checkpoint { every-epochs = 1, keep = 0 }
        extensions = []
        """;

    [PostgresFact]
    public async Task A_run_on_three_workers_survives_a_node_killed_mid_epoch_and_ends_within_a_point_of_an_uninterrupted_run()
    {
        var journal = Server.Postgres.CreateDatabase();
        var config = Path.Combine(Root, "cluster.hocon");
        File.WriteAllText(config, """
            trainmanager.scheduler.regroup-timeout = 5 s
            trainmanager.worker.progress-interval = 200 ms
            """);
        var ports = NodeProcess.FreePorts(4);
        var coordinatorPort = ports[0];
        var seeds = $"127.0.0.1:{coordinatorPort}";
        NodeProcess Start(string name, int port, string roles) =>
            StartNode(name, port, seeds, roles, journal, config);

        var coordinator = Start("coordinator", coordinatorPort, "coordinator");
        await coordinator.JoinedAsync(Long);
        var workers = Enumerable.Range(1, 3).Select(i => Start($"worker-{i}", ports[i], "worker")).ToList();
        foreach (var worker in workers)
            await worker.JoinedAsync(Long);

        using var session = await ClusterSession.JoinAsync(null, [seeds], Long);

        // Uninterrupted: the accuracy to match, and one rank on each node.
        var whole = Submitted(await session.AskAsync(ClusterRequests.Submit(Experiment("dp-whole"))));
        var wholeEnded = await Within(session.FollowAsync(whole, new MidRunWatch()), "the uninterrupted run to end");
        RunAssert.EndedAs(RunStatus.Finished, wholeEnded, Logs());
        var wholeHistory = ((RunDetails)await session.AskAsync(new GetRun(whole))).History;
        var ranks = wholeHistory.OfType<ExperimentScheduled>().Single().Ranks;
        Assert.Equal(3, ranks.Count);
        Assert.Equal(3, ranks.Select(r => r.Node).Distinct().Count());
        Assert.Empty(wholeHistory.OfType<WorkerLost>());

        // Interrupted: once epoch 1's checkpoint is written and epoch 2 is under way, rank 1's node dies.
        var interrupted = Submitted(await session.AskAsync(ClusterRequests.Submit(Experiment("dp-killed"))));
        var watch = new MidRunWatch();
        var ended = session.FollowAsync(interrupted, watch);
        var placed = await Within(watch.Scheduled.Task, "the run to be placed");
        await Within(watch.MidEpochTwo.Task, "the run to reach the middle of epoch 2");
        var victimSlot = placed.Ranks[1];
        var victim = workers.Single(w => victimSlot.Node.EndsWith($":{w.Port}", StringComparison.Ordinal));
        var killedAt = DateTimeOffset.UtcNow;
        victim.Kill();

        var end = await Within(ended, "the interrupted run to end");
        RunAssert.EndedAs(RunStatus.Finished, end, Logs());
        Assert.Equal(Epochs, end.Outcome!.Epochs);

        var history = ((RunDetails)await session.AskAsync(new GetRun(interrupted))).History;
        var story = string.Join("\n", history.Where(e => e is not (EpochCompleted or CheckpointSaved)).Select(e => $"{e.At:HH:mm:ss.fff} {e}"));
        var lostRanks = history.OfType<WorkerLost>().ToList();
        Assert.True(lostRanks.Count == 1, $"killed at {killedAt:HH:mm:ss.fff}; the run's history:\n{story}");
        var lost = lostRanks[0];
        Assert.Equal(1, lost.Rank);
        Assert.True(lost.Slot.SameSlot(victimSlot));
        Assert.True(lost.At - killedAt < TimeSpan.FromSeconds(15), $"the lost rank was journaled {(lost.At - killedAt).TotalSeconds:0.0} s after the kill");
        var regrouped = history.OfType<ExperimentScheduled>().Last();
        Assert.Equal(2, regrouped.Ranks.Count);
        Assert.DoesNotContain(regrouped.Ranks, r => r.SameSlot(victimSlot));
        Assert.IsType<ExperimentRequeued>(history.TakeWhile(e => !ReferenceEquals(e, regrouped)).Last(e => e is not WorkerLost));
        // Every rank of the new ring resumed from the newest checkpoint written before the kill.
        var resumed = history.OfType<ExperimentStarted>().Last();
        var newest = history.TakeWhile(e => !ReferenceEquals(e, resumed)).OfType<CheckpointSaved>().Last().Checkpoint;
        Assert.Equal(newest.Path, resumed.ResumedFrom!.Path);
        Assert.True(newest.Epoch >= 1);

        output.WriteLine($"uninterrupted: {wholeEnded.Outcome!.TestAccuracy:P2} in {wholeEnded.Outcome.Elapsed.TotalSeconds:0.0} s; " +
                          $"killed rank 1 at {killedAt:HH:mm:ss.fff}, journaled lost {(lost.At - killedAt).TotalSeconds:0.00} s later, " +
                          $"re-formed with 2 at {(regrouped.At - killedAt).TotalSeconds:0.00} s, resumed from epoch {newest.Epoch}'s checkpoint; " +
                          $"finished with {end.Outcome.TestAccuracy:P2}");
        foreach (var e in history.Where(e => e is not (EpochCompleted or CheckpointSaved)))
            output.WriteLine($"  {e.At:HH:mm:ss.fff} {e.GetType().Name} {(e is WorkerLost w ? w.Reason : e is ExperimentRequeued r ? r.Reason : "")}");
        var difference = Math.Abs(end.Outcome.TestAccuracy - wholeEnded.Outcome!.TestAccuracy);
        Assert.True(difference <= 0.01,
            $"test accuracy {end.Outcome.TestAccuracy:P2} after losing a worker, {wholeEnded.Outcome.TestAccuracy:P2} uninterrupted");
    }

    Task<T> Within<T>(Task<T> task, string what) => Within(task, Long * 2, what);

    Task Within(Task task, string what) => Within(task, Long * 2, what);
}
