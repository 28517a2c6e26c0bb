using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using TrainManager.Coordinator.Experiments;
using TrainManager.Coordinator.Scheduling;
using TrainManager.Extensions;
using TrainManager.Protocol;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;

namespace TrainManager.Bench.ClusterSimulation;

/// <summary>
/// <c>cluster-restart [--runs N] [--ended M]</c>: how fast a restarted coordinator answers <c>runs</c> over a large
/// SQLite journal, and how much memory it holds then. The journal is written as a coordinator of this version leaves
/// it after running N experiments, M of which ended: their events, a final snapshot of each ended one, and the index
/// of ended runs (written as <see cref="RunIndex"/> writes it). A fresh coordinator is then started on it and timed until its first <c>runs</c> answer lists every
/// run; the managed heap after a full collection is set against a coordinator started on an empty journal.
/// </summary>
public static class RestartScenario
{
    static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    static readonly SlotAddress Slot = new("akka.tcp://trainmanager@127.0.0.1:4054", 0, "cpu");
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    public static int Run(string[] args)
    {
        var runs = Option(args, "--runs", 10_000);
        var ended = Option(args, "--ended", 9_900);
        if (ended > runs || runs < 1)
        {
            Console.Error.WriteLine($"--ended ({ended}) must be at most --runs ({runs}), and --runs at least 1.");
            return 2;
        }
        var root = Path.Combine(Path.GetTempPath(), "tm-cluster-restart", Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Console.WriteLine($"cluster-restart: {runs} experiments journaled, {ended} ended, SQLite journal in a temporary folder");
            var empty = Start(Path.Combine(root, "empty"), 0);
            Console.WriteLine($"  empty journal:      runs answered in {empty.Answer.TotalSeconds,6:0.00} s, heap {Mib(empty.Heap),7:0.0} MiB (registry {Mib(empty.Held):0.00} MiB), {empty.Live} live experiments");

            var journal = Path.Combine(root, "journal");
            var seeding = Stopwatch.StartNew();
            Seed(journal, runs, ended);
            Console.WriteLine($"  journal written in {seeding.Elapsed.TotalSeconds:0.0} s ({new FileInfo(Path.Combine(journal, "journal.db")).Length / 1048576.0:0.0} MiB)");

            var restart = Start(journal, runs);
            Console.WriteLine($"  restart:            runs answered in {restart.Answer.TotalSeconds,6:0.00} s, heap {Mib(restart.Heap),7:0.0} MiB (registry {Mib(restart.Held):0.00} MiB), {restart.Live} live experiments, {restart.Listed} runs listed");
            Console.WriteLine($"  heap over the empty journal: {Mib(restart.Heap - empty.Heap):0.0} MiB; held by the registry, its index and live experiments: " +
                              $"{Mib(restart.Held - empty.Held):0.0} MiB ({(restart.Held - empty.Held) / (double)runs / 1024:0.00} KiB a run, the {runs - ended} live ones included)");
            var ok = restart.Listed == runs && restart.Live == runs - ended;
            Console.WriteLine(ok
                ? $"  target < 10 s: {(restart.Answer < TimeSpan.FromSeconds(10) ? "met" : "MISSED")}"
                : $"  WRONG: expected {runs} runs listed and {runs - ended} live, got {restart.Listed} and {restart.Live}");
            return ok ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <param name="Heap">The managed heap after a full collection while the coordinator runs.</param>
    /// <param name="Held">What stopping the registry (its experiments and index with it) gives back: the part of the
    /// heap the runs hold, without what the actor system and the SQL plugin keep in any case.</param>
    sealed record Measured(TimeSpan Answer, long Heap, long Held, int Live, int Listed);

    static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    static double Mib(long bytes) => bytes / 1048576.0;

    static Config Config(string state) => ClusterConfiguration.Build(null, new ClusterOverrides
    {
        Host = "127.0.0.1",
        Port = 0,
        SeedNodes = [],
        Roles = [NodeRoles.Coordinator],
        StateDirectory = state,
        Store = "sqlite",
        Secret = ClusterSecret.Random(),
        Hocon = "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING\nakka.log-dead-letters = off",
    });

    /// <summary>A fresh coordinator on the journal in <paramref name="state"/>: the time until <c>runs</c> lists
    /// <paramref name="expected"/> runs, then the heap after a full collection while it runs.</summary>
    static Measured Start(string state, int expected)
    {
        Directory.CreateDirectory(state);
        var config = Config(state);
        var settings = TrainManagerSettings.From(config);
        var system = ActorSystem.Create(ClusterConfiguration.SystemName, config);
        try
        {
            var clock = Stopwatch.StartNew();
            var registry = system.ActorOf(ExperimentRegistry.Props(settings.Scheduler), "registry");
            RunList? list = registry.Ask<RunList>(ListRuns.Instance, Patience).GetAwaiter().GetResult();
            var answer = clock.Elapsed;
            ExperimentRegistry.LiveExperiments? live = registry.Ask<ExperimentRegistry.LiveExperiments>(ExperimentRegistry.GetLiveExperiments.Instance, Patience).GetAwaiter().GetResult();
            if (list.Runs.Count != expected)
                Console.WriteLine($"  (listed {list.Runs.Count} of {expected})");
            var (runCount, liveCount) = (list.Runs.Count, live.RunIds.Count);
            list = null;
            live = null;
            var heap = FullyCollectedHeap();
            registry.GracefulStop(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            var withoutRegistry = FullyCollectedHeap();
            return new Measured(answer, heap, heap - withoutRegistry, liveCount, runCount);
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(30));
            SqliteConnection.ClearAllPools();
        }
    }

    static long FullyCollectedHeap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>What a coordinator leaves after running the experiments: events, a final snapshot per ended run, the index.</summary>
    static void Seed(string state, int runs, int ended)
    {
        Directory.CreateDirectory(state);
        var system = ActorSystem.Create(ClusterConfiguration.SystemName, Config(state));
        try
        {
            var index = system.ActorOf(RunIndex.Props(SchedulerOptions.DefaultSnapshotEvery), "index");
            var inbox = Inbox.Create(system);
            const int window = 500;
            var outstanding = 0;
            for (var i = 0; i < runs; i++)
            {
                var runId = $"run-{i:00000}";
                var events = i < ended ? EndedRun(runId, i) : [Submitted(runId, i)];
                ExperimentSnapshot? snapshot = null;
                if (i < ended)
                {
                    var final = events.Aggregate(ExperimentState.Empty(runId), (s, e) => s.Apply(e));
                    snapshot = final.ToSnapshot(new Dictionary<int, long>());
                    index.Tell(new RunIndex.Add(final.Summary()));
                }
                system.ActorOf(ExperimentJournalWriter.Props(runId)).Tell(new ExperimentJournalWriter.Write(events, snapshot), inbox.Receiver);
                if (++outstanding >= window)
                    for (; outstanding > window / 2; outstanding--)
                        inbox.Receive(Patience);
            }
            for (; outstanding > 0; outstanding--)
                inbox.Receive(Patience);
            // The index's last entries are written once it has answered a message sent after them.
            index.Ask<ActorIdentity>(new Identify(null), Patience).GetAwaiter().GetResult();
            Thread.Sleep(TimeSpan.FromSeconds(2));
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(30));
            SqliteConnection.ClearAllPools();
        }
    }

    static ExperimentSubmitted Submitted(string runId, int i) =>
        new(runId, At.AddSeconds(i), "mlp", 3, "name = mlp\nepochs = 3", "{}", ProvenanceSummary.Unknown("bench"), "cpu", null, "bench@host", null);

    static IExperimentEvent[] EndedRun(string runId, int i)
    {
        var metrics = new Dictionary<string, double> { ["test_accuracy"] = 0.9, ["train_loss"] = 0.3 };
        var checkpoint = new CheckpointRecord($"/runs/{runId}/checkpoints/epoch-0003.ckpt", new string('a', 64), 2, 30, metrics);
        return
        [
            Submitted(runId, i), new ExperimentScheduled(At, Slot, 1), new ExperimentStarted(At, Slot, $"/runs/{runId}", null, []),
            new EpochCompleted(At, 0, metrics), new EpochCompleted(At, 1, metrics), new EpochCompleted(At, 2, metrics),
            new CheckpointSaved(At, checkpoint),
            new ExperimentFinished(At, new TrainingOutcome(3, 0.3, 0.35, 0.9, TimeSpan.FromSeconds(3), checkpoint.Path, null)),
        ];
    }
}
