using Akka.Actor;
using Akka.Configuration;
using Akka.Pattern;
using Microsoft.Data.Sqlite;
using TrainManager.Coordinator.Experiments;
using TrainManager.Coordinator.Scheduling;
using TrainManager.Protocol;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;
using TrainManager.Tests.Cluster;
using static TrainManager.Coordinator.Experiments.ExperimentCommands;

namespace TrainManager.Tests.Coordinator;

/// <summary>
/// Snapshots, passivation of ended experiments, the index of ended runs, and backoff restarts, on a SQLite journal of
/// the test's own. The journals are written directly (<see cref="ExperimentJournalWriter"/>), as a coordinator of an
/// earlier version would have left them: no snapshots, no index.
/// </summary>
public sealed class PersistenceTests : Akka.TestKit.Xunit2.TestKit
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    static readonly SlotAddress Slot = new("akka.tcp://trainmanager@127.0.0.1:4054", 0, "cpu");
    static readonly IReadOnlyDictionary<string, double> Metrics = new Dictionary<string, double> { ["test_accuracy"] = 0.9, ["train_loss"] = 0.3 };

    readonly string _state;

    public PersistenceTests() : this(NewStateDirectory()) { }

    PersistenceTests(string state) : base(Journal(state)) => _state = state;

    static string NewStateDirectory()
    {
        var state = Path.Combine(Path.GetTempPath(), "tm-persistence-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(state);
        return state;
    }

    static Config Journal(string state) => ClusterConfiguration.Build(null, new ClusterOverrides
    {
        Host = "127.0.0.1",
        Port = 0,
        SeedNodes = [],
        Roles = [NodeRoles.Coordinator],
        StateDirectory = state,
        Store = "sqlite",
        Secret = ClusterSecret.Random(),
        Hocon = ClusterNodes.TestHocon(),
    });

    static SchedulerOptions Options(TimeSpan? passivateAfter = null) => new(true, TimeSpan.FromSeconds(1), ClusterConfiguration.QueryJournalId,
        SnapshotEvery: 5, PassivateAfter: passivateAfter ?? TimeSpan.FromSeconds(1),
        RestartBackoffMin: TimeSpan.FromMilliseconds(500), RestartBackoffMax: TimeSpan.FromSeconds(2));

    static ExperimentSubmitted Submitted(string runId, int minute) =>
        new(runId, At.AddMinutes(minute), "mlp", 3, "name = mlp", "{}", ProvenanceSummary.Unknown("test"), "cpu", null, "me@host", null);

    static CheckpointRecord Checkpoint(string runId) => new($"/runs/{runId}/checkpoints/epoch-0001.ckpt", new string('a', 64), 0, 10, Metrics);

    /// <summary>A run that finished, failed or was cancelled (by <paramref name="i"/>), as its events say.</summary>
    static IExperimentEvent[] EndedRun(string runId, int i) => (i % 3) switch
    {
        0 =>
        [
            Submitted(runId, i), new ExperimentScheduled(At, Slot, 1), new ExperimentStarted(At, Slot, $"/runs/{runId}", null, []),
            new EpochCompleted(At, 0, Metrics), new CheckpointSaved(At, Checkpoint(runId)),
            new ExperimentFinished(At, new TrainingOutcome(1, 0.3, 0.35, 0.9, TimeSpan.FromSeconds(3), Checkpoint(runId).Path, null)),
        ],
        1 => [Submitted(runId, i), new ExperimentCancelled(At, "by the test")],
        _ => [Submitted(runId, i), new ExperimentScheduled(At, Slot, 1), new ExperimentFailed(At, "boom", FailureKind.RunFailed, null)],
    };

    void Write(IEnumerable<(string RunId, IExperimentEvent[] Events)> runs)
    {
        var count = 0;
        foreach (var (runId, events) in runs)
        {
            Sys.ActorOf(ExperimentJournalWriter.Props(runId)).Tell(new ExperimentJournalWriter.Write(events), TestActor);
            count++;
        }
        for (var i = 0; i < count; i++)
            ExpectMsg<ExperimentJournalWriter.Written>(Long);
    }

    /// <summary>Stands in for the registry: what the experiment tells its parent goes to <paramref name="probe"/>.</summary>
    sealed class ParentOf : ReceiveActor
    {
        public ParentOf(Props child, IActorRef probe)
        {
            var actor = Context.ActorOf(child, "experiment");
            ReceiveAny(m =>
            {
                if (Sender.Equals(actor))
                    probe.Forward(m);
                else
                    actor.Forward(m);
            });
        }
    }

    IActorRef StartExperiment(string runId, int snapshotEvery = 5) =>
        Sys.ActorOf(Props.Create(typeof(ParentOf), ExperimentActor.Props(runId, null, snapshotEvery, TimeSpan.FromMinutes(5)), CreateTestProbe().Ref));

    void Stop(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, Long);
    }

    RecoveryReport Recovery(IActorRef experiment)
    {
        experiment.Tell(GetRecovery.Instance);
        return ExpectMsg<RecoveryReport>(Long);
    }

    long SnapshotsOf(string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_state, "journal.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public void A_snapshot_is_saved_every_n_events_and_recovery_replays_only_the_events_after_it()
    {
        Write([("r1", [Submitted("r1", 0), new ExperimentScheduled(At, Slot, 1), new ExperimentStarted(At, Slot, "/runs/r1", null, [])])]);
        var experiment = StartExperiment("r1");
        for (var epoch = 0; epoch < 4; epoch++) // events 4 to 7; every 5th is snapshotted
            experiment.Tell(new EpochReport("r1", epoch, Metrics));
        AwaitAssert(() => Assert.Equal(5, Recovery(experiment).LastSnapshotSequenceNr), Long);
        Stop(experiment);

        var recovered = StartExperiment("r1");
        var report = Recovery(recovered);
        Assert.Equal(new RecoveryReport(5, 2, 5, 7), report);
        recovered.Tell(new GetRun("r1"));
        var details = ExpectMsg<RunDetails>(Long);
        Assert.Equal(7, details.History.Count);
        Assert.Equal(RunStatus.Running, details.Summary.Status);
        Assert.Equal(4, details.Summary.EpochsDone);
    }

    [Fact]
    public void An_experiment_that_ends_is_snapshotted_at_its_end_and_keeps_only_its_newest_snapshot()
    {
        Write([("r2", [Submitted("r2", 0), new ExperimentScheduled(At, Slot, 1), new ExperimentStarted(At, Slot, "/runs/r2", null, [])])]);
        var experiment = StartExperiment("r2", snapshotEvery: 4);
        experiment.Tell(new EpochReport("r2", 0, Metrics)); // event 4: a snapshot
        AwaitAssert(() => Assert.Equal(4, Recovery(experiment).LastSnapshotSequenceNr), Long);
        experiment.Tell(new CancelRun("r2", "by the test")); // event 5: the end, a snapshot
        ExpectMsg<CancelAccepted>(Long);
        AwaitAssert(() => Assert.Equal(5, Recovery(experiment).LastSnapshotSequenceNr), Long);
        AwaitAssert(() => Assert.Equal(1, SnapshotsOf("experiment-r2")), Long);
        Stop(experiment);

        var recovered = StartExperiment("r2", snapshotEvery: 4);
        Assert.Equal(new RecoveryReport(5, 0, 5, 5), Recovery(recovered));
        recovered.Tell(new GetRun("r2"));
        var details = ExpectMsg<RunDetails>(Long);
        Assert.Equal(RunStatus.Cancelled, details.Summary.Status);
        Assert.Equal(5, details.History.Count);
    }

    [Fact]
    public void A_snapshot_restores_the_state_its_events_built()
    {
        var state = EndedRun("r3", 0).Aggregate(ExperimentState.Empty("r3"), (s, e) => s.Apply(e));
        var back = ExperimentState.FromSnapshot(state.ToSnapshot(new Dictionary<int, long> { [1] = 3 }));
        Assert.Equal(state.Summary(), back.Summary());
        Assert.Equal(state.History, back.History);
        Assert.Equal(state.Checkpoints, back.Checkpoints);
        Assert.Equal(state.Outcome, back.Outcome);
        Assert.Equal(state.ResumeCandidates, back.ResumeCandidates);
    }

    IActorRef StartRegistry(string name, SchedulerOptions? options = null) =>
        Sys.ActorOf(ExperimentRegistry.Props(options ?? Options()), name);

    IReadOnlyList<string> Live(IActorRef registry)
    {
        registry.Tell(ExperimentRegistry.GetLiveExperiments.Instance);
        return ExpectMsg<ExperimentRegistry.LiveExperiments>(Long).RunIds;
    }

    IActorRef IndexOf(IActorRef registry)
    {
        var supervisor = Sys.ActorSelection(registry.Path / "run-index").ResolveOne(Long).GetAwaiter().GetResult();
        supervisor.Tell(BackoffSupervisor.GetCurrentChild.Instance);
        return ExpectMsg<BackoffSupervisor.CurrentChild>(Long).Ref;
    }

    RunList Runs(IActorRef registry)
    {
        registry.Tell(ListRuns.Instance);
        return ExpectMsg<RunList>(Long);
    }

    [Fact]
    public void Ended_experiments_are_not_started_at_recovery_but_listed_and_recovered_on_demand_until_idle()
    {
        var ended = Enumerable.Range(0, 190).Select(i => ($"ended-{i:000}", EndedRun($"ended-{i:000}", i))).ToList();
        var queued = Enumerable.Range(0, 10).Select(i => ($"queued-{i:00}", new IExperimentEvent[] { Submitted($"queued-{i:00}", 1000 + i) })).ToList();
        Write(ended.Concat(queued));

        // A journal from before the index: every experiment recovers once, the ended ones are indexed and stop.
        var first = StartRegistry("first");
        AwaitAssert(() => Assert.Equal(200, Runs(first).Runs.Count), Long, TimeSpan.FromMilliseconds(500));
        AwaitAssert(() => Assert.Equal(10, Live(first).Count), Long, TimeSpan.FromMilliseconds(200));
        var index = IndexOf(first);
        AwaitAssert(() =>
        {
            index.Tell(RunIndex.GetEntries.Instance);
            Assert.Equal(190, ExpectMsg<RunIndex.Loaded>(Long).Runs.Count);
        }, Long, TimeSpan.FromMilliseconds(200));
        Stop(first);

        var registry = StartRegistry("second");
        var runs = Runs(registry);
        Assert.Equal(200, runs.Runs.Count);
        Assert.Equal(queued.Select(q => q.Item1).Order(), Live(registry));
        var byId = runs.Runs.ToDictionary(r => r.RunId);
        Assert.Equal(RunStatus.Finished, byId["ended-000"].Status);
        Assert.Equal("test accuracy 90.00%", byId["ended-000"].Detail);
        Assert.Equal(RunStatus.Cancelled, byId["ended-001"].Status);
        Assert.Equal(RunStatus.Failed, byId["ended-002"].Status);
        Assert.Equal("boom", byId["ended-002"].Detail);
        Assert.Equal(RunStatus.Queued, byId["queued-00"].Status);

        // logs / checkpoints / status RUN: the run is recovered to answer, by a unique prefix too.
        registry.Tell(new GetRun("ended-00"));
        Assert.IsType<RunNotFound>(ExpectMsg<object>(Long)); // ambiguous: ended-000 ... ended-009
        registry.Tell(new GetRun("ended-000"));
        var details = ExpectMsg<RunDetails>(Long);
        Assert.Equal(6, details.History.Count);
        Assert.Equal(Checkpoint("ended-000").Path, Assert.Single(details.Checkpoints).Path);
        Assert.Contains("ended-000", Live(registry));
        AwaitAssert(() => Assert.DoesNotContain("ended-000", Live(registry)), Long, TimeSpan.FromMilliseconds(200));
        Assert.Equal(200, Runs(registry).Runs.Count);

        // Asked again after it stopped: recovered again, from its snapshot.
        registry.Tell(new GetRun("ended-001"));
        Assert.Equal(RunStatus.Cancelled, ExpectMsg<RunDetails>(Long).Summary.Status);
        registry.Tell(new CancelRun("ended-001", "again"));
        ExpectMsg<CancelRefused>(Long);
    }

    [Fact]
    public void An_experiment_that_ends_answers_its_followers_and_then_stops()
    {
        Write([("q1", [Submitted("q1", 0)])]);
        var registry = StartRegistry("registry");
        Assert.Equal(new[] { "q1" }, Live(registry));
        var follower = CreateTestProbe();
        follower.Send(registry, new FollowRun("q1"));
        follower.ExpectMsg<RunDetails>(Long);
        registry.Tell(new CancelRun("q1", "by the test"));
        ExpectMsg<CancelAccepted>(Long);
        follower.FishForMessage(m => m is RunEnded { Status: RunStatus.Cancelled }, Long);
        AwaitAssert(() => Assert.Empty(Live(registry)), Long, TimeSpan.FromMilliseconds(200));
        Assert.Equal(RunStatus.Cancelled, Assert.Single(Runs(registry).Runs).Status);

        // The index knows it: a restarted coordinator lists it without starting it.
        Stop(registry);
        var restarted = StartRegistry("restarted");
        Assert.Equal(RunStatus.Cancelled, Assert.Single(Runs(restarted).Runs).Status);
        Assert.Empty(Live(restarted));
    }

    [Fact]
    public async Task An_experiment_that_fails_is_restarted_by_its_supervisor_after_a_backoff_and_recovers_its_state()
    {
        Write([("b1", [Submitted("b1", 0), new ExperimentScheduled(At, Slot, 1), new ExperimentRequeued(At, "node left")])]);
        var registry = StartRegistry("registry", Options(passivateAfter: TimeSpan.FromMinutes(5)));
        Assert.Equal(new[] { "b1" }, Live(registry));
        var supervisor = await Sys.ActorSelection(registry.Path / "run-b1").ResolveOne(Long);
        supervisor.Tell(BackoffSupervisor.GetCurrentChild.Instance);
        var child = ExpectMsg<BackoffSupervisor.CurrentChild>(Long).Ref;
        Watch(child);

        child.Tell(Kill.Instance); // fails: its supervisor's strategy stops it
        ExpectTerminated(child, Long);
        var stopped = DateTime.UtcNow;
        IActorRef? again = null;
        AwaitAssert(() =>
        {
            supervisor.Tell(BackoffSupervisor.GetCurrentChild.Instance);
            again = ExpectMsg<BackoffSupervisor.CurrentChild>(Long).Ref;
            Assert.True(again is not null && !again.IsNobody() && !again.Equals(child));
        }, Long, TimeSpan.FromMilliseconds(50));
        Assert.True(DateTime.UtcNow - stopped >= TimeSpan.FromMilliseconds(400), $"restarted after {(DateTime.UtcNow - stopped).TotalMilliseconds:0} ms, before its backoff");

        Assert.Equal(new RecoveryReport(0, 3, 0, 3), Recovery(again!));
        registry.Tell(new GetRun("b1"));
        var details = ExpectMsg<RunDetails>(Long);
        Assert.Equal(RunStatus.Queued, details.Summary.Status);
        Assert.Equal(3, details.History.Count);
        Assert.Equal(new[] { "b1" }, Live(registry));
    }

    [Theory]
    [InlineData("trainmanager.scheduler.snapshot-every = 0", "snapshot-every")]
    [InlineData("trainmanager.scheduler.passivate-after = 0 s", "passivate-after")]
    public void Persistence_settings_that_cannot_work_are_refused_naming_the_setting(string hocon, string setting)
    {
        var e = Assert.Throws<ClusterConfigurationException>(() => TrainManagerSettings.From(ConfigurationFactory.ParseString(hocon).WithFallback(ClusterConfiguration.Defaults)));
        Assert.Contains(setting, e.Message);
    }

    [Fact]
    public void Persistence_settings_default_to_the_documented_values()
    {
        var scheduler = TrainManagerSettings.From(ClusterConfiguration.Defaults).Scheduler;
        Assert.Equal(100, scheduler.SnapshotEvery);
        Assert.Equal(TimeSpan.FromSeconds(60), scheduler.PassivateAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), scheduler.RestartBackoffMin);
        Assert.Equal(TimeSpan.FromSeconds(30), scheduler.RestartBackoffMax);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
            // a file still held: the temporary folder is cleaned by the system
        }
    }
}
