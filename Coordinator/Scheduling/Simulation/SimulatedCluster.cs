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
    public static async Task<SimulatedCluster> StartAsync(TimeSpan? runFor)
    {
        var system = ActorSystem.Create("trainmanager-sim", ConfigurationFactory.ParseString(Config));
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var registry = system.ActorOf(ExperimentRegistry.Props(
            new SchedulerOptions(RecoverOnStart: false, ConfirmationGrace: TimeSpan.FromSeconds(30))), "coordinator");
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
