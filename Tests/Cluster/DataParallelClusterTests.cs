using Akka.Actor;
using Akka.TestKit;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>Data-parallel runs on in-process cluster members: ranks placed over the nodes, rank 0 writing the run,
/// waiting for workers, a node that leaves mid-run and one that joins, cancelling every rank at once.</summary>
public sealed class DataParallelClusterTests : ClusterTestKit
{
    static string DataParallel(string experiment, int workers, int minWorkers, string replacementWait = "60 s") =>
        experiment + $"\nworkers = {workers}\ndata-parallel {{ min-workers = {minWorkers}, replacement-wait = {replacementWait} }}\n";

    [Fact]
    public void A_run_with_three_workers_trains_one_rank_on_each_node_and_rank_zero_writes_the_run()
    {
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var workers = Enumerable.Range(0, 3).Select(_ => Nodes.Start(WorkerOnly, join: coordinator).System).ToList();
        AwaitAssert(() => Assert.Equal(4, ClusterNodes.UpMembers(coordinator)), Long);
        var client = CreateTestProbe(coordinator);

        client.Send(roles.Coordinator, ClusterRequests.Submit(DataParallel(ClusterNodes.Experiment(epochs: 2, trainLimit: 600), 3, 3)));
        var runId = client.ExpectMsg<SubmitAccepted>(Long).RunId;
        var ended = FollowToEnd(client, roles.Coordinator, runId);

        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(2, ended.Outcome!.Epochs);
        client.Send(roles.Coordinator, new GetRun(runId));
        var details = client.ExpectMsg<RunDetails>(Long);
        Assert.Equal(3, details.Summary.Workers);
        var scheduled = Assert.Single(details.History.OfType<ExperimentScheduled>());
        Assert.Equal(3, scheduled.Ranks.Count);
        Assert.Equal(workers.Select(w => Akka.Cluster.Cluster.Get(w).SelfAddress.ToString()).Order(), scheduled.Ranks.Select(r => r.Node).Order());
        Assert.All(scheduled.Ranks, r => Assert.NotNull(r.DataEndpoint));
        Assert.Equal(scheduled.Ranks[0], Assert.Single(details.History.OfType<ExperimentStarted>()).Slot);
        // One epoch report and one checkpoint per epoch: rank 0's, not one per rank.
        Assert.Equal(2, details.History.OfType<EpochCompleted>().Count());
        Assert.Equal(2, details.Checkpoints.Count);
        Assert.All(details.Checkpoints, c => Assert.StartsWith(Path.Combine(details.RunDirectory!, "checkpoints"), c.Path));
        foreach (var rank in new[] { 1, 2 })
        {
            var own = Path.Combine(details.RunDirectory!, $"rank-{rank}");
            Assert.True(Directory.Exists(own), $"{own} is missing");
            Assert.False(Directory.Exists(Path.Combine(own, "checkpoints")), $"rank {rank} wrote checkpoints");
        }
    }

    [Fact]
    public void A_run_starts_with_its_minimum_after_the_replacement_wait_and_a_node_that_joins_is_used_when_it_re_forms()
    {
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var (first, _) = Nodes.Start(WorkerOnly, join: coordinator);
        var (second, _) = Nodes.Start(WorkerOnly, join: coordinator);
        AwaitAssert(() => Assert.Equal(3, ClusterNodes.UpMembers(coordinator)), Long);
        var client = CreateTestProbe(coordinator);

        client.Send(roles.Coordinator, ClusterRequests.Submit(DataParallel(ClusterNodes.LongExperiment(), 3, 2, "2 s")));
        var runId = client.ExpectMsg<SubmitAccepted>(Long).RunId;
        client.Send(roles.Coordinator, new GetRun(runId));
        var waiting = client.ExpectMsg<RunDetails>(Long).Summary;
        Assert.Equal(RunStatus.Queued, waiting.Status);
        Assert.Contains("waiting for 3 cpu slots (or 2 after 2 s)", waiting.Detail);

        client.Send(roles.Coordinator, new FollowRun(runId));
        var firstPlacement = (ExperimentScheduled)((RunEventNotice)client.FishForMessage(m => m is RunEventNotice { Event: ExperimentScheduled }, Long)).Event;
        Assert.Equal(2, firstPlacement.Ranks.Count);
        client.FishForMessage(m => m is RunEventNotice { Event: CheckpointSaved }, Long);

        var (third, _) = Nodes.Start(WorkerOnly, join: coordinator);
        AwaitAssert(() => Assert.Equal(4, ClusterNodes.UpMembers(coordinator)), Long);
        var leaving = Akka.Cluster.Cluster.Get(first).SelfAddress.ToString();
        var leavingRank = firstPlacement.Ranks.ToList().FindIndex(r => r.Node == leaving);
        ClusterNodes.Leave(first); // SIGTERM: its rank votes to stop, every rank stops after the same step

        var ended = (RunEnded)client.FishForMessage(m => m is RunEnded, Long * 2);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(120, ended.Outcome!.Epochs);
        client.Send(roles.Coordinator, new GetRun(runId));
        var history = client.ExpectMsg<RunDetails>(Long).History;
        // What happened, for a failure message: every event but the epochs and checkpoints.
        var story = string.Join("\n", history.Where(e => e is not (EpochCompleted or CheckpointSaved)));
        var lost = history.OfType<WorkerLost>().ToList();
        Assert.True(lost.Count == 1, story);
        Assert.True(lost[0].Rank == leavingRank && lost[0].Reason.Contains("handed it back", StringComparison.Ordinal), story);
        var placements = history.OfType<ExperimentScheduled>().ToList();
        Assert.True(placements.Count == 2, story);
        var reformed = placements[1].Ranks.Select(r => r.Node).ToList();
        Assert.Equal(2, reformed.Count);
        Assert.Contains(Akka.Cluster.Cluster.Get(third).SelfAddress.ToString(), reformed);
        Assert.Contains(Akka.Cluster.Cluster.Get(second).SelfAddress.ToString(), reformed);
        Assert.DoesNotContain(leaving, reformed);
        // The ranks stopped together and rank 0 wrote where they stopped; the new ring resumed from exactly there.
        var resumed = history.OfType<ExperimentStarted>().Last();
        var stoppedAt = history.TakeWhile(e => !ReferenceEquals(e, resumed)).OfType<CheckpointSaved>().Last().Checkpoint;
        Assert.Equal(stoppedAt.Path, resumed.ResumedFrom!.Path);
    }

    [Fact]
    public void Cancelling_a_run_stops_every_rank_after_the_same_step_and_keeps_the_checkpoint_rank_zero_wrote()
    {
        // One node with two slots: the ranks of a run on one machine (as one worker per GPU would be).
        var (node, roles) = Nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker], devices: ["cpu", "cpu"]);
        var client = CreateTestProbe(node);
        var runId = SubmitAndWaitFor<EpochCompleted>(client, roles.Coordinator, DataParallel(ClusterNodes.LongExperiment(), 2, 2));

        var canceller = CreateTestProbe(node);
        canceller.Send(roles.Coordinator, new CancelRun(runId, "enough"));
        Assert.Equal(RunStatus.Running, canceller.ExpectMsg<CancelAccepted>(Long).WasStatus);

        var ended = (RunEnded)client.FishForMessage(m => m is RunEnded, Long);
        RunAssert.EndedAs(RunStatus.Cancelled, ended);
        Assert.True(ended.Outcome!.Epochs < 120, $"it ran all {ended.Outcome.Epochs} epochs");
        client.Send(roles.Coordinator, new GetRun(runId));
        var details = client.ExpectMsg<RunDetails>(Long);
        Assert.Equal(ended.Outcome.LastCheckpoint, details.Checkpoints.LastOrDefault()?.Path);
        Assert.Empty(details.History.OfType<WorkerLost>());
        // Both slots are free again: nothing was left waiting in an exchange.
        AwaitAssert(() =>
        {
            canceller.Send(roles.Coordinator, ListRuns.Instance);
            Assert.Equal(2, canceller.ExpectMsg<RunList>(Long).FreeSlots);
        }, Long);
    }

    [Fact]
    public void A_restarted_coordinator_lets_every_rank_that_kept_training_carry_on()
    {
        var (first, _) = Nodes.Start(CoordinatorOnly);
        var (worker, workerRoles) = Nodes.Start(WorkerOnly, join: first);
        Nodes.Start(WorkerOnly, join: first);
        AwaitAssert(() => Assert.Equal(3, ClusterNodes.UpMembers(first)), Long);
        var client = CreateTestProbe(worker);
        var runId = SubmitAndWaitFor<EpochCompleted>(client, workerRoles.Coordinator, DataParallel(ClusterNodes.LongExperiment(), 2, 2));

        ClusterNodes.Leave(first);
        var (second, secondRoles) = Nodes.Start(CoordinatorOnly, join: worker);

        // Both ranks say they still run it; the new coordinator matches them to the ranks the journal has, and the
        // ring, which never needed the coordinator, trains on.
        var observer = CreateTestProbe(second);
        var ended = FollowToEnd(observer, secondRoles.Coordinator, runId);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(120, ended.Outcome!.Epochs);
        observer.Send(secondRoles.Coordinator, new GetRun(runId));
        var history = observer.ExpectMsg<RunDetails>(Long).History;
        Assert.Single(history.OfType<ExperimentScheduled>());
        Assert.Empty(history.OfType<ExperimentRequeued>());
        Assert.Empty(history.OfType<WorkerLost>());
    }
}
