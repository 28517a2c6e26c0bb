using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using TrainManager.Protocol;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Coordinator.Scheduling.Simulation;

/// <summary>
/// A real coordinator (<see cref="ExperimentRegistry"/> and its experiments, in-memory journal, a one-member cluster
/// in this process) with simulated nodes and slots (<see cref="SimulatedSlot"/>) that train nothing. The cluster
/// simulation benchmark and its reduced test both drive it through the scenarios (<see cref="QueueScenario"/>,
/// <see cref="NodeLossScenario"/>); each scenario is a class of its own, so more (a coordinator restart) fit beside them.
/// </summary>
internal sealed class SimulatedCluster : IAsyncDisposable
{
    const string Config = """
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.cluster.roles = [coordinator]
        akka.cluster.log-info = off
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    /// <summary>A small experiment: the coordinator parses it like any other; the simulated slots never train it.</summary>
    public static string Experiment(int workers) => $$"""
        name = sim-{{workers}}
        device = cpu
        epochs = 1
        batch-size = 64
        optimizer { type = adam, lr = 0.001 }
        model { type = mlp, args { hidden = [8] } }
        data { dataset = fashion-mnist }
        workers = {{workers}}
        data-parallel { min-workers = {{workers}}, replacement-wait = 1 h }
        """;

    readonly List<string> _nodes = [];

    SimulatedCluster(ActorSystem system, IActorRef registry, IActorRef slots, SimulationLog log)
    {
        System = system;
        Registry = registry;
        Slots = slots;
        Log = log;
    }

    public ActorSystem System { get; }
    public IActorRef Registry { get; }
    public IActorRef Slots { get; }
    public SimulationLog Log { get; }
    public IReadOnlyList<string> Nodes => _nodes;

    /// <param name="runFor">How long a run trains before it finishes by itself; null: until told (<see cref="Finish"/>).</param>
    public static async Task<SimulatedCluster> StartAsync(TimeSpan? runFor, Components.ComponentCatalog components)
    {
        var system = ActorSystem.Create("trainmanager-sim", ConfigurationFactory.ParseString(Config));
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var registry = system.ActorOf(ExperimentRegistry.Props(
            new SchedulerOptions(RecoverOnStart: false, ConfirmationGrace: TimeSpan.FromSeconds(30)), components), "coordinator");
        var log = new SimulationLog();
        var slots = system.ActorOf(SimulatedWorkerSlots.Props(registry, log, runFor), ExperimentRegistry.SlotsActorName);
        return new SimulatedCluster(system, registry, slots, log);
    }

    public static string NodeName(int i) => $"sim-node-{i:D5}";

    /// <summary>Starts nodes; each registers its slots with the coordinator as soon as it has started.</summary>
    public async Task AddNodesAsync(int nodes, int slotsPerNode)
    {
        var first = _nodes.Count;
        await Task.WhenAll(Enumerable.Range(first, nodes)
            .Select(i => Slots.Ask<IActorRef>(new SimulatedWorkerSlots.AddNode(NodeName(i), slotsPerNode), TimeSpan.FromSeconds(60))));
        _nodes.AddRange(Enumerable.Range(first, nodes).Select(NodeName));
    }

    public Task RemoveNodeAsync(string node) =>
        Slots.Ask<SimulatedWorkerSlots.RemoveNode>(new SimulatedWorkerSlots.RemoveNode(node), TimeSpan.FromSeconds(60));

    /// <summary>Submits one experiment per entry (its number of workers); returns the run ids in that order.</summary>
    public async Task<IReadOnlyList<string>> SubmitAsync(IReadOnlyList<int> workers)
    {
        var hocon = workers.Distinct().ToDictionary(w => w, Experiment);
        var ids = new List<string>(workers.Count);
        // In order, so the queue's order is the list's; a few at a time keeps the mailbox short.
        foreach (var chunk in workers.Chunk(64))
        {
            var answers = await Task.WhenAll(chunk.Select(w => Registry.Ask<object>(
                new SubmitExperiment($"sim-{w}", hocon[w], "{}", ProvenanceSummary.Unknown("simulation"), "cpu", null, "simulation"),
                TimeSpan.FromSeconds(120))));
            foreach (var answer in answers)
                ids.Add(answer switch
                {
                    SubmitAccepted accepted => accepted.RunId,
                    SubmitRejected rejected => throw new InvalidOperationException($"The simulated coordinator refused an experiment: {rejected.Reason}"),
                    _ => throw new InvalidOperationException($"The simulated coordinator answered a submission with {answer.GetType().Name}."),
                });
        }
        return ids;
    }

    /// <summary>The latest attempt's ranks of the run finish now.</summary>
    public void Finish(string runId)
    {
        var starts = Log.Starts().Where(s => s.RunId == runId).ToList();
        var attempt = starts.Max(s => s.Attempt);
        foreach (var start in starts.Where(s => s.Attempt == attempt))
            start.Slot.Tell(new SimulatedSlot.Finish(runId));
    }

    /// <summary>Waits, looking every millisecond or two, until <paramref name="done"/> holds; false when it did not in time.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > timeout)
                return false;
            await Task.Delay(1);
        }
        return true;
    }

    public async ValueTask DisposeAsync() => await System.Terminate();
}

/// <summary>Figures of a set of durations, in milliseconds.</summary>
internal sealed record Timings(int Count, double MedianMs, double P99Ms, double MaxMs)
{
    public static Timings Of(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        if (sorted.Length == 0)
            return new Timings(0, double.NaN, double.NaN, double.NaN);
        return new Timings(sorted.Length, sorted[(sorted.Length - 1) / 2], sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * 0.99) - 1)],
            sorted[^1]);
    }

    public static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>
/// A queue longer than the cluster: every experiment is submitted before the nodes join, then the nodes register and
/// each run finishes as soon as it started, until the whole queue has been placed. Measures the time to place the
/// queue and, per placement, the time from the slot that let the run start falling free to every rank of the run
/// being told to start.
/// </summary>
internal static class QueueScenario
{
    public sealed record Result(
        int Experiments,
        int Nodes,
        int SlotsPerNode,
        TimeSpan Submitting,
        TimeSpan PlacingAll,
        Timings PlacementLatency,
        bool Completed,
        IReadOnlyList<string> Problems);

    public static async Task<Result> RunAsync(int nodes, int slotsPerNode, IReadOnlyList<int> workers, Components.ComponentCatalog components,
        TimeSpan timeout)
    {
        await using var cluster = await SimulatedCluster.StartAsync(runFor: TimeSpan.Zero, components);
        var submitting = Stopwatch.StartNew();
        var runIds = await cluster.SubmitAsync(workers);
        submitting.Stop();
        var begin = Stopwatch.GetTimestamp();
        await cluster.AddNodesAsync(nodes, slotsPerNode);
        var completed = await SimulatedCluster.WaitUntilAsync(() => cluster.Log.Finished >= runIds.Count, timeout);
        var end = Stopwatch.GetTimestamp();
        var starts = cluster.Log.Starts();
        var latency = starts.GroupBy(s => (s.RunId, s.Attempt))
            .Select(run => Timings.Milliseconds(Math.Max(begin, run.Max(s => s.SlotFreeSince)), run.Max(s => s.At)));
        var placingAll = starts.Count > 0 ? Timings.Milliseconds(begin, starts.Max(s => s.At)) : Timings.Milliseconds(begin, end);
        return new Result(runIds.Count, nodes, slotsPerNode, submitting.Elapsed, TimeSpan.FromMilliseconds(placingAll), Timings.Of(latency), completed,
            Check(runIds, workers, starts, cluster.Log.DoubleBookings()));
    }

    /// <summary>Every experiment placed exactly once, on as many distinct slots as it asked for, and no slot given to two runs at once.</summary>
    static IReadOnlyList<string> Check(IReadOnlyList<string> runIds, IReadOnlyList<int> workers, IReadOnlyList<SimulationLog.Start> starts,
        IReadOnlyList<string> doubleBookings)
    {
        var problems = new List<string>(doubleBookings);
        var byRun = starts.GroupBy(s => s.RunId).ToDictionary(g => g.Key, g => g.ToList());
        for (var i = 0; i < runIds.Count; i++)
        {
            if (!byRun.TryGetValue(runIds[i], out var ranks))
            {
                problems.Add($"{runIds[i]} was never placed");
                continue;
            }
            if (ranks.Select(r => r.Attempt).Distinct().Count() != 1)
                problems.Add($"{runIds[i]} was placed {ranks.Select(r => r.Attempt).Distinct().Count()} times");
            if (ranks.Count != workers[i] || ranks.Select(r => r.Rank).Distinct().Count() != workers[i] || ranks.Select(r => r.Slot).Distinct().Count() != workers[i])
                problems.Add($"{runIds[i]} asked for {workers[i]} workers and got {ranks.Count} starts on {ranks.Select(r => r.Slot).Distinct().Count()} slots");
        }
        foreach (var unknown in byRun.Keys.Except(runIds))
            problems.Add($"{unknown} was started but never submitted");
        return problems;
    }
}

/// <summary>
/// A node lost while runs are going: <paramref name="runs"/> runs are placed and kept training, then the node that
/// hosts the most of them is removed (its slots stop; the coordinator learns it by death watch, as when a member is
/// removed). Measures the time from the loss until every affected run has been placed again, every rank told to start.
/// </summary>
internal static class NodeLossScenario
{
    public sealed record Result(int Runs, int Nodes, int SlotsPerNode, int AffectedRuns, TimeSpan Replacing, bool Completed, IReadOnlyList<string> Problems);

    public static async Task<Result> RunAsync(int nodes, int slotsPerNode, IReadOnlyList<int> workers, Components.ComponentCatalog components,
        TimeSpan timeout)
    {
        await using var cluster = await SimulatedCluster.StartAsync(runFor: null, components);
        await cluster.AddNodesAsync(nodes, slotsPerNode);
        await SimulatedCluster.WaitUntilAsync(() => false, TimeSpan.FromMilliseconds(200)); // the nodes register
        var runIds = await cluster.SubmitAsync(workers);
        var expectedStarts = workers.Sum();
        var problems = new List<string>();
        if (!await SimulatedCluster.WaitUntilAsync(() => cluster.Log.StartCount >= expectedStarts, timeout))
            problems.Add($"only {cluster.Log.StartCount} of {expectedStarts} ranks started before the node was lost");
        var before = cluster.Log.Starts();
        var lost = before.GroupBy(s => s.Node).OrderByDescending(g => g.Select(s => s.RunId).Distinct().Count()).First().Key;
        var affected = before.Where(s => s.Node == lost).Select(s => s.RunId).Distinct().ToHashSet(StringComparer.Ordinal);

        var loss = Stopwatch.GetTimestamp();
        await cluster.RemoveNodeAsync(lost);
        bool Replaced(IReadOnlyList<SimulationLog.Start> starts, string runId)
        {
            var again = starts.Where(s => s.RunId == runId && s.Attempt > 1).ToList();
            return again.Count > 0 && again.Count == again[0].WorldSize;
        }
        var completed = await SimulatedCluster.WaitUntilAsync(() =>
        {
            var starts = cluster.Log.Starts();
            return affected.All(id => Replaced(starts, id));
        }, timeout);
        var after = cluster.Log.Starts();
        var replacedAt = after.Where(s => s.At > loss && affected.Contains(s.RunId)).Select(s => s.At).DefaultIfEmpty(loss).Max();

        problems.AddRange(cluster.Log.DoubleBookings());
        foreach (var runId in affected.Where(id => !Replaced(after, id)))
            problems.Add($"{runId} lost a rank on {lost} and was not placed again");
        foreach (var start in after.Where(s => s.At > loss && s.Node == lost))
            problems.Add($"{start.RunId} was placed on the lost node {lost}");
        foreach (var runId in after.Where(s => s.Attempt > 1 && !affected.Contains(s.RunId)).Select(s => s.RunId).Distinct())
            problems.Add($"{runId} had no rank on {lost} but was placed again");
        foreach (var run in after.Where(s => s.Attempt > 1).GroupBy(s => s.RunId))
            if (run.Select(s => s.Slot).Distinct().Count() != run.Count())
                problems.Add($"{run.Key} was placed again with two ranks on one slot");
        return new Result(runIds.Count, nodes, slotsPerNode, affected.Count, TimeSpan.FromMilliseconds(Timings.Milliseconds(loss, replacedAt)),
            completed, problems);
    }
}
