using System.Diagnostics;

namespace TrainManager.Coordinator.Scheduling.Simulation;

/// <summary>
/// A queue longer than the cluster: every experiment is submitted before the nodes join, then the nodes register and
/// each run finishes as soon as it started (or after a set time), until the whole queue has been placed. Measures the time to place the
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

    /// <param name="runFor">How long each run trains; zero: it finishes as soon as it started, so the coordinator is
    /// never idle and the latencies include the wait behind everything else in its mailbox.</param>
    public static async Task<Result> RunAsync(int nodes, int slotsPerNode, IReadOnlyList<int> workers,
        TimeSpan timeout, TimeSpan runFor = default)
    {
        await using var cluster = await SimulatedCluster.StartAsync(runFor);
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
