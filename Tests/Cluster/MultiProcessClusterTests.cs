using Akka.Actor;
using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Node.Workers;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// The cluster as it is deployed: a coordinator and two worker nodes as real processes on loopback, a PostgreSQL
/// journal, and the CLI's way in. A run goes to a remote slot and finishes; then the coordinator is killed (SIGKILL)
/// during a second run and started again, and the run still finishes, with the journal telling the whole story.
/// </summary>
[Collection(NodeProcessCollection.Name)]
public sealed class MultiProcessClusterTests(PostgresJournalTests.Server server) : NodeProcessTests(server)
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(60);


    [PostgresFact]
    public async Task A_run_finishes_on_a_remote_node_and_a_run_survives_a_killed_coordinator()
    {
        try
        {
            await RunAndKillTheCoordinator();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{Logs()}", e);
        }
    }

    async Task RunAndKillTheCoordinator()
    {
        var journal = Server.Postgres.CreateDatabase();
        var ports = NodeProcess.FreePorts(3);
        int coordinatorPort = ports[0], firstWorkerPort = ports[1], secondWorkerPort = ports[2];
        // The first worker is a seed too, so a restarted coordinator finds the running cluster instead of forming its own.
        var seeds = $"127.0.0.1:{coordinatorPort},127.0.0.1:{firstWorkerPort}";
        NodeProcess Start(string name, int port, string roles) =>
            StartNode(name, port, seeds, roles, journal);

        var coordinator = Start("coordinator", coordinatorPort, "coordinator");
        await coordinator.JoinedAsync(Long);
        var workers = new[] { Start("worker-1", firstWorkerPort, "worker"), Start("worker-2", secondWorkerPort, "worker") };
        foreach (var worker in workers)
            await worker.JoinedAsync(Long);

        string shortRun, longRun;
        using (var session = await ClusterSession.JoinAsync(null, [$"127.0.0.1:{coordinatorPort}"], Long))
        {
            shortRun = Submitted(await session.AskAsync(ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 2, name: "short"))));
            var ended = await session.FollowAsync(shortRun, new Silent()).WaitAsync(Long);
            RunAssert.EndedAs(RunStatus.Finished, ended);
            var details = (RunDetails)await session.AskAsync(new GetRun(shortRun));
            var slot = details.History.OfType<ExperimentStarted>().Single().Slot;
            Assert.Contains(slot.Node, new[] { $"akka.tcp://trainmanager@127.0.0.1:{firstWorkerPort}", $"akka.tcp://trainmanager@127.0.0.1:{secondWorkerPort}" });

            longRun = Submitted(await session.AskAsync(ClusterRequests.Submit(ClusterNodes.LongExperiment(paced: false))));
            var checkpointed = new TaskCompletionSource();
            _ = session.FollowAsync(longRun, new OnCheckpoint(checkpointed));
            await checkpointed.Task.WaitAsync(Long);
        }

        coordinator.Kill(); // SIGKILL: nothing written on the way out
        // The worker trains on with no coordinator: the outage lasts until it has written a checkpoint (and its epochs)
        // that nobody has journaled yet.
        var checkpoints = Path.Combine(Root, "runs", longRun, "checkpoints");
        var before = Directory.GetFiles(checkpoints, "*.ckpt").Length;
        var outageEnds = DateTime.UtcNow + Long;
        while (Directory.GetFiles(checkpoints, "*.ckpt").Length == before && DateTime.UtcNow < outageEnds)
            await Task.Delay(100);
        var restarted = Start("coordinator-restarted", coordinatorPort, "coordinator");
        await restarted.JoinedAsync(Long);

        using (var session = await ClusterSession.JoinAsync(null, [$"127.0.0.1:{coordinatorPort}", $"127.0.0.1:{firstWorkerPort}"], Long))
        {
            // 120 epochs on node processes: about a minute on an idle machine, several beside other heavy work; the
            // deadline only bounds a hang.
            var ended = await session.FollowAsync(longRun, new Silent()).WaitAsync(Long * 5);
            RunAssert.EndedAs(RunStatus.Finished, ended);
            Assert.Equal(120, ended.Outcome!.Epochs);

            var history = ((RunDetails)await session.AskAsync(new GetRun(longRun))).History;
            Assert.IsType<ExperimentSubmitted>(history[0]);
            Assert.IsType<ExperimentFinished>(history[^1]);
            // Either the worker kept training and the new coordinator let it carry on, or it was placed again and
            // resumed from the newest checkpoint the journal had: both are in the history.
            foreach (var resumed in history.OfType<ExperimentStarted>().Skip(1))
                Assert.Equal(history.TakeWhile(e => !ReferenceEquals(e, resumed)).OfType<CheckpointSaved>().Last().Checkpoint.Path, resumed.ResumedFrom!.Path);
            foreach (var saved in history.OfType<CheckpointSaved>().Where(c => File.Exists(c.Checkpoint.Path)).TakeLast(1))
                Assert.Equal(saved.Checkpoint.Sha256, CheckpointChecksum.Of(saved.Checkpoint.Path));

            // Nothing of the outage is missing: every epoch is in the journal once, in order (a resume repeats the
            // epochs after its checkpoint), and `trainmanager checkpoints` lists exactly the files on disk.
            AssertEveryEpochInOrder(history, epochs: 120);
            var details = (RunDetails)await session.AskAsync(new GetRun(longRun));
            var onDisk = Directory.GetFiles(Path.Combine(Root, "runs", longRun, "checkpoints"), "*.ckpt").Select(Path.GetFullPath).Order().ToList();
            Assert.NotEmpty(onDisk);
            Assert.Equal(onDisk, details.Checkpoints.Select(c => c.Path).Order());
            Assert.Equal(onDisk, history.OfType<CheckpointSaved>().Select(c => c.Checkpoint.Path).Order());

            var finished = (RunDetails)await session.AskAsync(new GetRun(shortRun));
            RunAssert.HasStatus(RunStatus.Finished, finished); // recovered from the journal by the new coordinator
        }
    }

    /// <summary>From each start (the first, or a resume from a checkpoint) the epochs follow one another without a gap
    /// or a repeat, and the last start runs to <paramref name="epochs"/>.</summary>
    static void AssertEveryEpochInOrder(IReadOnlyList<IExperimentEvent> history, int epochs)
    {
        var next = 0;
        int? resumedFrom = null;
        foreach (var e in history)
        {
            if (e is ExperimentStarted started)
                (next, resumedFrom) = started.ResumedFrom is { } from ? (from.Epoch + 1, (int?)from.Epoch) : (0, null);
            else if (e is EpochCompleted completed)
            {
                // A checkpoint written mid-epoch (a worker stopped) resumes within that epoch, which then completes.
                if (resumedFrom is { } epoch && completed.Epoch == epoch)
                    next = epoch;
                resumedFrom = null;
                Assert.True(completed.Epoch == next,
                    $"epoch {completed.Epoch} follows epoch {next - 1} in the journal; epochs: " +
                    string.Join(", ", history.OfType<EpochCompleted>().Select(c => c.Epoch)));
                next++;
            }
        }
        Assert.Equal(epochs, next);
    }

    sealed class Silent : IRunObserver;

    sealed class OnCheckpoint(TaskCompletionSource checkpointed) : IRunObserver
    {
        public void OnEvent(IExperimentEvent e)
        {
            if (e is CheckpointSaved)
                checkpointed.TrySetResult();
        }
    }
}
