using Akka.Actor;
using Akka.TestKit;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>Several members in one process, each its own actor system on its own loopback port: joining, leaving,
/// scheduling onto a remote slot, and a coordinator that restarts.</summary>
public sealed class MultiNodeClusterTests : ClusterTestKit
{
    /// <summary>Stops a member the way kill -9 would look to the journal: no hand-back, nothing written on the way out.</summary>
    const string NoShutdownTasks = "akka.coordinated-shutdown.run-by-actor-system-terminate = off";

    [Fact]
    public void A_queued_experiment_waits_for_a_worker_and_runs_on_the_remote_slot_of_the_node_that_joins()
    {
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var client = CreateTestProbe(coordinator);
        client.Send(roles.Coordinator, ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 2)));
        var accepted = client.ExpectMsg<SubmitAccepted>(Long);
        Assert.Equal(0, accepted.MatchingSlots);
        client.Send(roles.Coordinator, new GetRun(accepted.RunId));
        Assert.Equal(RunStatus.Queued, client.ExpectMsg<RunDetails>(Long).Summary.Status);

        var (worker, _) = Nodes.Start(WorkerOnly, join: coordinator);

        var ended = FollowToEnd(client, roles.Coordinator, accepted.RunId);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        client.Send(roles.Coordinator, new GetRun(accepted.RunId));
        var started = client.ExpectMsg<RunDetails>(Long).History.OfType<ExperimentStarted>().Single();
        Assert.Equal(Akka.Cluster.Cluster.Get(worker).SelfAddress.ToString(), started.Slot.Node);
    }

    [Fact]
    public void A_leaving_worker_hands_its_run_back_and_another_node_resumes_it_from_its_last_checkpoint()
    {
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var (first, _) = Nodes.Start(WorkerOnly, join: coordinator);
        var client = CreateTestProbe(coordinator);
        var runId = SubmitAndWaitFor<CheckpointSaved>(client, roles.Coordinator, ClusterNodes.LongExperiment());
        var (second, _) = Nodes.Start(WorkerOnly, join: coordinator);
        AwaitAssert(() => Assert.Equal(3, ClusterNodes.UpMembers(coordinator)), Long);

        ClusterNodes.Leave(first); // what SIGTERM does

        var ended = (RunEnded)client.FishForMessage(m => m is RunEnded, Long);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(120, ended.Outcome!.Epochs);
        client.Send(roles.Coordinator, new GetRun(runId));
        var history = client.ExpectMsg<RunDetails>(Long).History;
        var requeued = history.OfType<ExperimentRequeued>().Single();
        Assert.Contains("handed it back", requeued.Reason);
        var resumed = history.OfType<ExperimentStarted>().Last();
        Assert.Equal(Akka.Cluster.Cluster.Get(second).SelfAddress.ToString(), resumed.Slot.Node);
        var lastBeforeResume = history.TakeWhile(e => !ReferenceEquals(e, resumed)).OfType<CheckpointSaved>().Last().Checkpoint;
        Assert.Equal(lastBeforeResume.Path, resumed.ResumedFrom!.Path);
    }

    [Fact]
    public async Task A_restarted_coordinator_recovers_every_experiment_from_the_journal_and_resumes_the_one_that_was_training()
    {
        var (crashing, roles) = Nodes.Start(Both, extraHocon: NoShutdownTasks);
        var client = CreateTestProbe(crashing);
        client.Send(roles.Coordinator, ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 1, name: "short")));
        var finishedId = client.ExpectMsg<SubmitAccepted>(Long).RunId;
        RunAssert.EndedAs(RunStatus.Finished, FollowToEnd(client, roles.Coordinator, finishedId));
        var runId = SubmitAndWaitFor<CheckpointSaved>(client, roles.Coordinator, ClusterNodes.LongExperiment());

        await crashing.Terminate().WaitAsync(Long);

        var (restarted, restartedRoles) = Nodes.Start(Both);
        var observer = CreateTestProbe(restarted);
        AwaitAssert(() =>
        {
            observer.Send(restartedRoles.Coordinator, new GetRun(finishedId));
            RunAssert.HasStatus(RunStatus.Finished, observer.ExpectMsg<RunDetails>(TimeSpan.FromSeconds(5)));
        }, Long);
        var ended = FollowToEnd(observer, restartedRoles.Coordinator, runId);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(120, ended.Outcome!.Epochs);
        observer.Send(restartedRoles.Coordinator, new GetRun(runId));
        var history = observer.ExpectMsg<RunDetails>(Long).History;
        var requeued = Assert.Single(history.OfType<ExperimentRequeued>());
        // In-process, the stopping system may still journal that its slot stopped; a killed process journals nothing,
        // and the restarted coordinator requeues the run when no worker claims it.
        Assert.True(requeued.Reason.Contains("no worker reported running it") || requeued.Reason.Contains("its node left or crashed"),
            string.Join("\n", history));
        var resumed = history.OfType<ExperimentStarted>().Last();
        Assert.NotNull(resumed.ResumedFrom);
        Assert.Equal(history.TakeWhile(e => !ReferenceEquals(e, resumed)).OfType<CheckpointSaved>().Last().Checkpoint.Path, resumed.ResumedFrom!.Path);
    }

    [Fact]
    public void A_restarted_coordinator_lets_a_worker_that_kept_training_carry_on()
    {
        var (first, roles) = Nodes.Start(CoordinatorOnly);
        var (worker, workerRoles) = Nodes.Start(WorkerOnly, join: first);
        var client = CreateTestProbe(worker);
        var runId = SubmitAndWaitFor<EpochCompleted>(client, workerRoles.Coordinator, ClusterNodes.LongExperiment());

        ClusterNodes.Leave(first);
        var (second, secondRoles) = Nodes.Start(CoordinatorOnly, join: worker);

        var observer = CreateTestProbe(second);
        var ended = FollowToEnd(observer, secondRoles.Coordinator, runId);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        observer.Send(secondRoles.Coordinator, new GetRun(runId));
        var history = observer.ExpectMsg<RunDetails>(Long).History;
        Assert.Single(history.OfType<ExperimentStarted>());
        Assert.Empty(history.OfType<ExperimentRequeued>());
    }

    [Fact]
    public void A_cancelled_run_stops_after_its_batch_and_its_last_checkpoint_is_journaled()
    {
        var (node, roles) = Nodes.Start(Both);
        var client = CreateTestProbe(node);
        var runId = SubmitAndWaitFor<EpochCompleted>(client, roles.Coordinator, ClusterNodes.LongExperiment());

        var canceller = CreateTestProbe(node);
        canceller.Send(roles.Coordinator, new CancelRun(runId[..12], "enough"));
        Assert.Equal(RunStatus.Running, canceller.ExpectMsg<CancelAccepted>(Long).WasStatus);

        var ended = (RunEnded)client.FishForMessage(m => m is RunEnded, Long);
        RunAssert.EndedAs(RunStatus.Cancelled, ended);
        Assert.True(ended.Outcome!.Epochs < 120, $"it ran all {ended.Outcome.Epochs} epochs");
        client.Send(roles.Coordinator, new GetRun(runId));
        var details = client.ExpectMsg<RunDetails>(Long);
        Assert.Equal(ended.Outcome.LastCheckpoint, details.Checkpoints.LastOrDefault()?.Path);
        canceller.Send(roles.Coordinator, new CancelRun(runId, "again"));
        Assert.Contains("already ended", canceller.ExpectMsg<CancelRefused>(Long).Reason);
    }
}
