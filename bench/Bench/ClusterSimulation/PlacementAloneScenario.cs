using System.Diagnostics;
using TrainManager.Coordinator.Scheduling.Decisions;
using TrainManager.Coordinator.Scheduling.Simulation;

namespace TrainManager.Bench.ClusterSimulation;

/// <summary>
/// The placement function alone, on the same cluster and queue as the end-to-end run: a round over the whole queue,
/// then, each time the oldest running run finishes and frees its slots, another round, until every experiment has been
/// placed. A decision is one queued run's (<see cref="PlacementRound.Decide"/>); a round also builds the slot index.
/// </summary>
internal static class PlacementAloneScenario
{
    public sealed record Result(int Experiments, int Rounds, Timings Decisions, Timings RoundTimes, double FirstRoundMs, int FirstRoundPlaced, TimeSpan Total);

    public static Result Run(int nodes, int slotsPerNode, IReadOnlyList<int> workers)
    {
        var start = DateTimeOffset.UnixEpoch;
        var runs = workers.Select((w, i) => new QueuedRun($"run-{i:D6}", start.AddTicks(i), "cpu", w, w, TimeSpan.FromHours(1)))
            .ToDictionary(r => r.RunId);
        var queue = new SortedSet<QueuedRun>(runs.Values, QueuedRun.ServeOrder);
        var free = new HashSet<FreeSlot>(Enumerable.Range(0, nodes).SelectMany(n => Enumerable.Range(0, slotsPerNode)
            .Select(i => new FreeSlot($"{SimulatedCluster.NodeName(n)}/{i}", SimulatedCluster.NodeName(n), i, "cpu", true))), ReferenceEqualityComparer.Instance);
        var slotsOfKind = new Dictionary<string, int> { ["cpu"] = nodes * slotsPerNode };
        var running = new Queue<IReadOnlyList<FreeSlot>>();
        var decisions = new List<double>(workers.Count * 2);
        var rounds = new List<double>();
        double firstRoundMs = 0;
        var firstRoundPlaced = 0;
        var now = start.AddMinutes(1);
        while (queue.Count > 0)
        {
            var roundStart = Stopwatch.GetTimestamp();
            var round = new PlacementRound(free.Cast<FreeSlot>(), slotsOfKind, now);
            foreach (var run in queue)
            {
                if (round.NothingMoreFits)
                    break;
                var before = Stopwatch.GetTimestamp();
                round.Decide(run);
                decisions.Add(Timings.Milliseconds(before, Stopwatch.GetTimestamp()));
            }
            rounds.Add(Timings.Milliseconds(roundStart, Stopwatch.GetTimestamp()));
            if (rounds.Count == 1)
            {
                firstRoundMs = rounds[0];
                firstRoundPlaced = round.Assignments.Count;
            }
            foreach (var assignment in round.Assignments)
            {
                queue.Remove(runs[assignment.RunId]);
                foreach (var slot in assignment.Slots)
                    if (!free.Remove(slot))
                        throw new InvalidOperationException($"Placement gave {slot.Id} twice.");
                running.Enqueue(assignment.Slots);
            }
            if (queue.Count > 0 && running.Count == 0)
                throw new InvalidOperationException($"{queue.Count} experiments can never be placed on {nodes} x {slotsPerNode} slots.");
            if (queue.Count > 0)
                foreach (var slot in running.Dequeue())
                    free.Add(slot);
        }
        return new Result(workers.Count, rounds.Count, Timings.Of(decisions), Timings.Of(rounds), firstRoundMs, firstRoundPlaced,
            TimeSpan.FromMilliseconds(rounds.Sum()));
    }
}
