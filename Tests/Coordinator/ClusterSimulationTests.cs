using TrainManager.Coordinator.Scheduling.Simulation;

namespace TrainManager.Tests.Coordinator;

/// <summary>
/// The cluster simulation benchmark's scenarios at a size that runs in seconds: a real coordinator with simulated
/// slots. Correctness only (every experiment placed once on distinct slots, no slot given twice, every run that lost a
/// rank placed again); the figures are the benchmark's (<c>bench -- cluster-sim</c>).
/// </summary>
public sealed class ClusterSimulationTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_queue_ten_times_longer_than_the_cluster_is_placed_run_by_run_each_once()
    {
        var random = new Random(7);
        var workers = Enumerable.Range(0, 500).Select(_ => random.Next(1, 17)).ToList();

        var result = await QueueScenario.RunAsync(nodes: 50, slotsPerNode: 8, workers, Timeout);

        Assert.Empty(result.Problems);
        Assert.True(result.Completed, "not every run finished in time");
        Assert.Equal(workers.Count, result.PlacementLatency.Count);
    }

    [Fact]
    public async Task Every_run_that_had_a_rank_on_a_lost_node_is_placed_again_and_no_other()
    {
        var random = new Random(11);
        var workers = Enumerable.Range(0, 50).Select(_ => random.Next(1, 9)).ToList();

        var result = await NodeLossScenario.RunAsync(nodes: 50, slotsPerNode: 8, workers, Timeout);

        Assert.Empty(result.Problems);
        Assert.True(result.Completed, "not every affected run was placed again in time");
        Assert.InRange(result.AffectedRuns, 1, 8);
    }
}
