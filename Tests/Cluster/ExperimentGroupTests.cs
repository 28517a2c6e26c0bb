using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using TrainManager.Coordinator.Experiments;
using TrainManager.Protocol;
using static TrainManager.Coordinator.Experiments.ExperimentCommands;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// The experiment actor's side of a data-parallel run, with test probes for the worker slots and an in-memory
/// journal: what each rank is told, and what the run does when one rank fails, loses its ring, or goes silent.
/// </summary>
public sealed class ExperimentGroupTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("""
    akka.loglevel = WARNING
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.local"
    """))
{
    static readonly TimeSpan RegroupTimeout = TimeSpan.FromMilliseconds(500);

    static ExperimentSubmitted Submitted(string runId, int workers, int minWorkers) => new(runId, DateTimeOffset.UtcNow, "mlp", 3, "name = mlp",
        "{}", ProvenanceSummary.Unknown("test"), "cpu", "/runs", "tests@localhost", null, null, new WorkerGroupSpec(workers, minWorkers, TimeSpan.Zero));

    static SlotAddress Address(int node) => new($"akka.tcp://trainmanager@10.0.0.{node}:4053", 0, "cpu", $"10.0.0.{node}:5001");

    /// <summary>A submitted run placed on <paramref name="workers"/> probe slots; every slot has had its StartTraining,
    /// and rank 0 has said it started.</summary>
    (IActorRef Experiment, TestProbe[] Slots, StartTraining[] Starts) Training(int workers)
    {
        var runId = "run-" + Guid.NewGuid().ToString("N")[..8];
        var experiment = Sys.ActorOf(ExperimentActor.Props(runId, RegroupTimeout));
        var client = CreateTestProbe();
        experiment.Tell(new Create(Submitted(runId, workers, 1), client.Ref, 0, workers));
        client.ExpectMsg<SubmitAccepted>();
        var slots = Enumerable.Range(0, workers).Select(_ => CreateTestProbe()).ToArray();
        experiment.Tell(new AssignSlots(slots.Select((s, i) => new SlotOffer(s.Ref, Address(i + 1))).ToList()));
        var starts = slots.Select(s => s.ExpectMsg<StartTraining>()).ToArray();
        slots[0].Send(experiment, new TrainingStartedReport(runId, Address(1), "/runs/" + runId, null, []));
        AwaitAssert(() => Assert.Equal(RunStatus.Running, Details(experiment).Summary.Status));
        return (experiment, slots, starts);
    }

    RunDetails Details(IActorRef experiment)
    {
        var probe = CreateTestProbe();
        probe.Send(experiment, new GetRun("any"));
        return probe.ExpectMsg<RunDetails>();
    }

    [Fact]
    public void Every_rank_gets_its_rank_the_same_peers_in_rank_order_and_one_fresh_token()
    {
        var (_, _, starts) = Training(3);

        Assert.Equal([0, 1, 2], starts.Select(s => s.Collective!.Rank));
        Assert.All(starts, s => Assert.Equal(["10.0.0.1:5001", "10.0.0.2:5001", "10.0.0.3:5001"], s.Collective!.Endpoints));
        Assert.All(starts, s => Assert.Equal(starts[0].Collective!.Secret, s.Collective!.Secret));
        Assert.True(starts[0].Collective!.Secret.Length >= 16);
    }

    [Fact]
    public void A_run_with_one_worker_gets_no_ring()
    {
        var (_, _, starts) = Training(1);

        Assert.Null(Assert.Single(starts).Collective);
    }

    [Fact]
    public void A_rank_that_fails_for_a_reason_of_its_own_fails_the_run_and_the_others_abandon_their_ring()
    {
        var (experiment, slots, starts) = Training(3);

        slots[1].Send(experiment, new TrainingFailedReport(starts[1].RunId, "NaN loss", FailureKind.RunFailed, "/runs/x/rank-1/error.txt"));

        Assert.True(slots[0].ExpectMsg<StopTraining>().Abandon);
        Assert.True(slots[2].ExpectMsg<StopTraining>().Abandon);
        slots[1].ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        var details = Details(experiment);
        RunAssert.HasStatus(RunStatus.Failed, details);
        Assert.Equal("rank 1: NaN loss", details.History.OfType<ExperimentFailed>().Single().Reason);
        Assert.Empty(details.History.OfType<ExperimentRequeued>());
    }

    [Fact]
    public void When_a_ring_breaks_the_live_ranks_are_told_to_abandon_it_and_a_silent_one_is_lost_after_the_regroup_timeout()
    {
        var (experiment, slots, starts) = Training(3);
        var runId = starts[0].RunId;

        // Rank 2 saw its predecessor (rank 1) go; rank 1 itself says nothing: its node is dead.
        slots[2].Send(experiment, new RingLostReport(runId, 2, "Rank 2 lost rank 1 during all-reduce #7"));
        Assert.True(slots[0].ExpectMsg<StopTraining>().Abandon);
        Assert.True(slots[1].ExpectMsg<StopTraining>().Abandon);
        slots[0].Send(experiment, new RingLostReport(runId, 0, "Rank 0 lost rank 2"));

        AwaitAssert(() => Assert.Equal(RunStatus.Queued, Details(experiment).Summary.Status), TimeSpan.FromSeconds(5));
        var history = Details(experiment).History;
        var lost = Assert.Single(history.OfType<WorkerLost>());
        Assert.Equal(1, lost.Rank);
        Assert.Equal(Address(2), lost.Slot);
        Assert.Contains($"did not answer within {RegroupTimeout.TotalSeconds:0.#} s", lost.Reason);
        Assert.StartsWith("rank 1 on ", history.OfType<ExperimentRequeued>().Single().Reason);

        // Placed again on the two that answered: a new ring of two, with a new token.
        experiment.Tell(new AssignSlots([new SlotOffer(slots[0].Ref, Address(1)), new SlotOffer(slots[2].Ref, Address(3))]));
        var again = new[] { slots[0].ExpectMsg<StartTraining>(), slots[2].ExpectMsg<StartTraining>() };
        Assert.All(again, s => Assert.Equal(2, s.Collective!.WorldSize));
        Assert.Equal([0, 1], again.Select(s => s.Collective!.Rank));
        Assert.NotEqual(starts[0].Collective!.Secret, again[0].Collective!.Secret);
        Assert.Equal(2, Details(experiment).History.OfType<ExperimentScheduled>().Last().Ranks.Count);
    }

    [Fact]
    public void A_rank_whose_slot_is_gone_is_lost_at_once_and_the_run_re_forms_when_the_others_have_stopped()
    {
        var (experiment, slots, starts) = Training(2);
        var runId = starts[0].RunId;

        Watch(slots[1].Ref);
        slots[1].Ref.Tell(PoisonPill.Instance); // what death watch reports when a node is removed
        ExpectTerminated(slots[1].Ref);

        Assert.True(slots[0].ExpectMsg<StopTraining>().Abandon);
        slots[0].Send(experiment, new RingLostReport(runId, 0, "Rank 0 lost rank 1"));
        AwaitAssert(() => Assert.Equal(RunStatus.Queued, Details(experiment).Summary.Status));
        var lost = Assert.Single(Details(experiment).History.OfType<WorkerLost>());
        Assert.Equal(1, lost.Rank);
        Assert.Contains("its node left or crashed", lost.Reason);
    }

    [Fact]
    public void Cancelling_asks_every_rank_to_stop_after_the_same_step_and_the_run_ends_when_all_have()
    {
        var (experiment, slots, starts) = Training(2);
        var runId = starts[0].RunId;
        var follower = CreateTestProbe();
        follower.Send(experiment, new FollowRun(runId));
        follower.ExpectMsg<RunDetails>();

        var client = CreateTestProbe();
        client.Send(experiment, new CancelRun(runId, "enough"));
        client.ExpectMsg<CancelAccepted>();
        Assert.False(slots[0].ExpectMsg<StopTraining>().Abandon);
        Assert.False(slots[1].ExpectMsg<StopTraining>().Abandon);

        var outcome = new TrainingOutcome(1, 0.5, 0.6, 0.8, TimeSpan.FromSeconds(3), "/runs/x/checkpoints/c.ckpt", "cancelled: enough");
        slots[0].Send(experiment, new TrainingStoppedReport(runId, "cancelled: enough", false, outcome));
        follower.FishForMessage(m => m is RunEventNotice { Event: ExperimentCancelled });
        follower.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // rank 1 has not stopped yet
        slots[1].Send(experiment, new TrainingStoppedReport(runId, "another rank of the run was asked to stop", false, outcome with { LastCheckpoint = null }));
        var ended = follower.ExpectMsg<RunEnded>();
        RunAssert.EndedAs(RunStatus.Cancelled, ended);
        Assert.Equal(outcome.LastCheckpoint, ended.Outcome!.LastCheckpoint); // rank 0's numbers
    }
}
