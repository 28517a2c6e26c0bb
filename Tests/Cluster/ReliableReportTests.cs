using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using TrainManager.Coordinator.Experiments;
using TrainManager.Protocol;
using TrainManager.Node.Workers;
using static TrainManager.Coordinator.Experiments.ExperimentCommands;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// The journal loses no report: a worker numbers the facts of a run and sends them until the experiment actor says they
/// are persisted; the experiment handles them in order and once each, also after it was recovered from the journal.
/// </summary>
public sealed class ReliableReportTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("""
    akka.loglevel = WARNING
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.local"
    """))
{
    static readonly SlotAddress Slot = new("akka.tcp://trainmanager@10.0.0.1:4053", 0, "cpu");
    static readonly Dictionary<string, double> Metrics = new() { ["train_loss"] = 0.5 };

    static ExperimentSubmitted Submitted(string runId, string hocon = "name = mlp", int epochs = 3) => new(runId, DateTimeOffset.UtcNow, "mlp",
        epochs, hocon, "{}", ProvenanceSummary.Unknown("test"), "cpu", null, "tests@localhost", null);

    static string NewRunId() => "run-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A submitted run placed on <paramref name="slot"/>: it has had its StartTraining.</summary>
    IActorRef Placed(string runId, IActorRef slot, string hocon = "name = mlp", int epochs = 3)
    {
        var experiment = Sys.ActorOf(ExperimentActor.Props(runId));
        var client = CreateTestProbe();
        experiment.Tell(new Create(Submitted(runId, hocon, epochs), client.Ref, 0, 1));
        client.ExpectMsg<SubmitAccepted>();
        experiment.Tell(new AssignSlots([new SlotOffer(slot, Slot)]));
        return experiment;
    }

    RunDetails Details(IActorRef experiment)
    {
        var probe = CreateTestProbe();
        probe.Send(experiment, new GetRun("any"));
        return probe.ExpectMsg<RunDetails>();
    }

    static TrainingStartedReport Started(string runId, long seq) => new(runId, Slot, "/runs/" + runId, null, [], 1, seq);

    static EpochReport Epoch(string runId, int epoch, long seq) => new(runId, epoch, Metrics, 1, seq);

    [Fact]
    public void A_report_after_a_gap_waits_for_the_missing_one_and_reports_are_persisted_in_their_order()
    {
        var runId = NewRunId();
        var slot = CreateTestProbe();
        var experiment = Placed(runId, slot.Ref);
        slot.ExpectMsg<StartTraining>();

        slot.Send(experiment, Started(runId, 1));
        Assert.Equal(1, slot.ExpectMsg<ReportsPersisted>().Seq);
        slot.Send(experiment, Epoch(runId, 1, 3)); // epoch 0 (seq 2) was lost on the way
        slot.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Empty(Details(experiment).History.OfType<EpochCompleted>());

        slot.Send(experiment, Epoch(runId, 0, 2));
        slot.Send(experiment, Epoch(runId, 1, 3)); // the worker sends everything unacknowledged again, oldest first
        Assert.Equal(2, slot.ExpectMsg<ReportsPersisted>().Seq);
        Assert.Equal(3, slot.ExpectMsg<ReportsPersisted>().Seq);

        Assert.Equal([0, 1], Details(experiment).History.OfType<EpochCompleted>().Select(e => e.Epoch));
    }

    [Fact]
    public void A_report_sent_again_is_acknowledged_and_not_persisted_twice_also_after_the_experiment_is_recovered()
    {
        var runId = NewRunId();
        var slot = CreateTestProbe();
        var experiment = Placed(runId, slot.Ref);
        slot.ExpectMsg<StartTraining>();
        slot.Send(experiment, Started(runId, 1));
        slot.Send(experiment, Epoch(runId, 0, 2));
        slot.Send(experiment, Epoch(runId, 0, 2));
        Assert.Equal([1, 2, 2], slot.ReceiveN(3).Cast<ReportsPersisted>().Select(a => a.Seq));
        Assert.Single(Details(experiment).History.OfType<EpochCompleted>());

        // The coordinator restarts: the experiment comes back from the journal, its slot not yet confirmed.
        Watch(experiment);
        Sys.Stop(experiment);
        ExpectTerminated(experiment);
        var recovered = Sys.ActorOf(ExperimentActor.Props(runId));

        slot.Send(recovered, Epoch(runId, 0, 2));
        Assert.Equal(2, slot.ExpectMsg<ReportsPersisted>().Seq);
        var outcome = new TrainingOutcome(3, 0.4, 0.5, 0.87, TimeSpan.FromSeconds(3), null, null);
        slot.Send(recovered, new TrainingFinishedReport(runId, outcome, 1, 3));
        slot.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // from a slot not confirmed yet: not taken, so sent again

        recovered.Tell(new SlotConfirmed(slot.Ref, Slot));
        slot.Send(recovered, new TrainingFinishedReport(runId, outcome, 1, 3));
        Assert.Equal(3, slot.ExpectMsg<ReportsPersisted>().Seq);

        var history = Details(recovered).History;
        Assert.Single(history.OfType<EpochCompleted>());
        Assert.Single(history.OfType<ExperimentFinished>());
        Assert.IsType<ExperimentFinished>(history[^1]);
    }

    [Fact]
    public void A_report_of_an_earlier_attempt_is_acknowledged_so_its_worker_lets_it_go()
    {
        var runId = NewRunId();
        var slot = CreateTestProbe();
        var experiment = Placed(runId, slot.Ref);
        slot.ExpectMsg<StartTraining>();
        slot.Send(experiment, new RingLostReport(runId, 0, "peer gone", 1, 1));
        Assert.Equal(1, slot.ExpectMsg<ReportsPersisted>().Seq);
        AwaitAssert(() => RunAssert.HasStatus(RunStatus.Queued, Details(experiment)));
        experiment.Tell(new AssignSlots([new SlotOffer(slot.Ref, Slot)]));
        Assert.Equal(2, slot.ExpectMsg<StartTraining>().Attempt);

        var late = new CheckpointReport(runId, new CheckpointRecord("/runs/x/c.ckpt", "00", 0, 4, Metrics), 1, 2);
        slot.Send(experiment, late);

        var ack = slot.ExpectMsg<ReportsPersisted>();
        Assert.Equal((1, 2L), (ack.Attempt, ack.Seq));
        Assert.Empty(Details(experiment).History.OfType<CheckpointSaved>());
    }

    /// <summary>A real worker slot training a real (small) run, with a coordinator that is away at first (its messages
    /// are dropped) and then delivers every message twice.</summary>
    [Fact]
    public void Reports_dropped_while_the_coordinator_is_away_are_sent_again_and_persisted_once_each_in_order()
    {
        var runs = Training.TrainingFixtures.TempDir();
        try
        {
            var runId = NewRunId();
            var observer = CreateTestProbe();
            var gate = Sys.ActorOf(Props.Create(() => new FlakyCoordinator(observer.Ref)));
            var settings = new WorkerSettings(runs, TimeSpan.FromMilliseconds(100), ClusterNodes.Components());
            var worker = Sys.ActorOf(WorkerActor.Props(Slot, gate, settings));
            var experiment = Placed(runId, worker, ClusterNodes.Experiment(epochs: 3), epochs: 3);

            // The whole fit happens while the coordinator is away: every report of it is dropped.
            observer.FishForMessage(m => m is FlakyCoordinator.Dropped { Message: TrainingFinishedReport }, Long);
            Assert.Empty(Details(experiment).History.OfType<EpochCompleted>());

            gate.Tell(new FlakyCoordinator.Deliver(experiment, Twice: true));
            // The slot is free again only once the coordinator has everything.
            observer.FishForMessage(m => m is FlakyCoordinator.Delivered { Message: SlotIdle }, Long);

            var history = Details(experiment).History;
            RunAssert.HasStatus(RunStatus.Finished, Details(experiment));
            Assert.Equal([0, 1, 2], history.OfType<EpochCompleted>().Select(e => e.Epoch));
            var sequenced = history.OfType<ISequencedEvent>().Select(e => e.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, sequenced.Count).Select(i => (long)i), sequenced);
            var onDisk = Directory.GetFiles(Path.Combine(runs, runId, "checkpoints"), "*.ckpt").Select(Path.GetFullPath).Order().ToList();
            Assert.NotEmpty(onDisk);
            Assert.Equal(onDisk, Details(experiment).Checkpoints.Select(c => c.Path).Order());
        }
        finally
        {
            try { Directory.Delete(runs, recursive: true); } catch (IOException) { }
        }
    }

    static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    /// <summary>Stands between a worker and its experiment: away (drops everything) or delivering, once or twice.</summary>
    sealed class FlakyCoordinator : ReceiveActor
    {
        public sealed record Away
        {
            public static Away Instance { get; } = new();
        }

        public sealed record Deliver(IActorRef Experiment, bool Twice);
        public sealed record Dropped(object Message);
        public sealed record Delivered(object Message);

        IActorRef? _experiment;
        bool _twice;

        public FlakyCoordinator(IActorRef observer)
        {
            Receive<Away>(_ => _experiment = null);
            Receive<Deliver>(deliver => (_experiment, _twice) = (deliver.Experiment, deliver.Twice));
            ReceiveAny(message =>
            {
                if (_experiment is null)
                {
                    observer.Tell(new Dropped(message));
                    return;
                }
                observer.Tell(new Delivered(message));
                if (message is not IWorkerReport)
                    return; // the registry's business (SlotIdle)
                _experiment.Forward(message);
                if (_twice)
                    _experiment.Forward(message);
            });
        }
    }
}
