using System.Diagnostics;

namespace TrainManager.Coordinator.Scheduling.Simulation;

/// <summary>
/// A node lost while runs are going: <paramref name="runs"/> runs are placed and kept training, then the node that
/// hosts the most of them is removed (its slots stop; the coordinator learns it by death watch, as when a member is
/// removed). Measures the time from the loss until every affected run has been placed again, every rank told to start.
/// </summary>
internal static class NodeLossScenario
{
    public sealed record Result(int Runs, int Nodes, int SlotsPerNode, int AffectedRuns, TimeSpan Replacing, bool Completed, IReadOnlyList<string> Problems);

    public static async Task<Result> RunAsync(int nodes, int slotsPerNode, IReadOnlyList<int> workers,
        TimeSpan timeout)
    {
        await using var cluster = await SimulatedCluster.StartAsync(runFor: null);
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
