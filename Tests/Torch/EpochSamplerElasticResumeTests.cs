using TrainManager.Data;

namespace TrainManager.Tests.Torch;

/// <summary>An epoch stopped under one world size and resumed under another: the ranks go on with what is left of it.</summary>
public sealed class EpochSamplerElasticResumeTests
{
    // A prime, so that no world size divides it and every resharding pads.
    private const long Size = 997;
    private const int BatchSize = 16;
    private const long Seed = 21;
    private const int Epoch = 3;

    /// <summary>What the ranks of one world visit going on from a state, each up to <paramref name="batches"/> batches
    /// (or to the epoch's end), and the state rank 0 checkpoints where they stop.</summary>
    private sealed record WorldRun(int WorldSize, List<long[]>[] BatchesPerRank, SamplerState Stop)
    {
        public IEnumerable<long> Visited => BatchesPerRank.SelectMany(rank => rank.SelectMany(batch => batch));
    }

    private static EpochSampler Sampler(int rank, int worldSize) => new(Size, BatchSize, Seed, rank: rank, worldSize: worldSize);

    private static SamplerState EpochStart(int worldSize) => Sampler(0, worldSize).StateAt(Epoch, 0);

    private static WorldRun Run(int worldSize, SamplerState from, int batches = int.MaxValue)
    {
        var perRank = new List<long[]>[worldSize];
        SamplerState? stop = null;
        for (var rank = 0; rank < worldSize; rank++)
        {
            var sampler = Sampler(rank, worldSize);
            var at = sampler.Resume(from);
            perRank[rank] = sampler.Batches(at.Epoch, at.NextBatch, at.ShardedFrom).Take(batches).ToList();
            if (rank == 0) stop = sampler.StateAt(at.Epoch, at.NextBatch + perRank[rank].Count, at.ShardedFrom);
        }
        return new WorldRun(worldSize, perRank, stop!);
    }

    /// <summary>Every example of the epoch was visited; the stopped parts repeat nothing, and all parts together repeat
    /// only the wrap-around padding of the last one (fewer examples than it has ranks).</summary>
    private static void AssertCoversTheEpochOnce(IReadOnlyList<WorldRun> stoppedParts, WorldRun lastPart)
    {
        var stopped = stoppedParts.SelectMany(p => p.Visited).ToList();
        var all = stopped.Concat(lastPart.Visited).ToList();
        Assert.Equal(stopped.Count, stopped.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, (int)Size).Select(i => (long)i), all.Distinct().Order());
        Assert.InRange(all.Count - Size, 0, lastPart.WorldSize - 1);
    }

    [Theory]
    [InlineData(3, 5, 2)]
    [InlineData(1, 7, 2)]
    [InlineData(2, 4, 3)]
    [InlineData(2, 20, 1)]
    [InlineData(1, 62, 8)] // five examples left for eight ranks
    public void An_epoch_stopped_under_one_world_size_and_finished_under_another_visits_every_example_once_but_for_padding(
        int worldSize, int batchesBeforeStop, int resumedWorldSize)
    {
        var first = Run(worldSize, EpochStart(worldSize), batchesBeforeStop);
        Assert.Equal(batchesBeforeStop, first.Stop.NextBatch);
        Assert.Equal(worldSize, first.Stop.WorldSize);

        var rest = Run(resumedWorldSize, first.Stop);

        AssertCoversTheEpochOnce([first], rest);
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(1, 8)]
    public void Every_rank_of_the_resumed_world_runs_the_same_batches_to_the_end_of_the_epoch(int worldSize, int resumedWorldSize)
    {
        var stop = Run(worldSize, EpochStart(worldSize), 5).Stop;
        var resumed = Sampler(0, resumedWorldSize).Resume(stop);

        var rest = Run(resumedWorldSize, stop);

        Assert.All(rest.BatchesPerRank, batches => Assert.Equal(rest.BatchesPerRank[0].Count, batches.Count));
        // The partial epoch is numbered so that it ends where a whole epoch ends.
        Assert.Equal(Sampler(0, resumedWorldSize).BatchesPerEpoch, resumed.NextBatch + rest.BatchesPerRank[0].Count);
        Assert.Equal(Sampler(0, resumedWorldSize).BatchesPerEpoch, rest.Stop.NextBatch);
    }

    [Theory]
    [InlineData(2)] // the same world size as the partial epoch's
    [InlineData(5)]
    [InlineData(1)]
    [InlineData(3)] // back to the epoch's first world size
    public void A_second_stop_inside_a_partial_epoch_resumes_under_any_world_size_and_still_covers_the_epoch(int thirdWorldSize)
    {
        var first = Run(3, EpochStart(3), 5);
        var second = Run(2, first.Stop, 4);
        Assert.Equal((2, 5L * BatchSize * 3), (second.Stop.WorldSize, second.Stop.ShardedFrom));

        var rest = Run(thirdWorldSize, second.Stop);

        AssertCoversTheEpochOnce([first, second], rest);
    }

    [Fact]
    public void Stopping_and_resuming_a_partial_epoch_under_the_same_world_size_replays_the_batches_it_would_have_run()
    {
        var stop = Run(3, EpochStart(3), 5).Stop;
        var uninterrupted = Run(2, stop);

        var firstHalf = Run(2, stop, 4);
        var secondHalf = Run(2, firstHalf.Stop);

        for (var rank = 0; rank < 2; rank++)
            Assert.Equal(uninterrupted.BatchesPerRank[rank], firstHalf.BatchesPerRank[rank].Concat(secondHalf.BatchesPerRank[rank]));
    }

    [Fact]
    public void Positions_visited_are_the_first_batches_times_batch_size_times_world_size_of_the_permutation()
    {
        var first = Run(3, EpochStart(3), 5);

        Assert.Equal(5L * BatchSize * 3, Sampler(0, 1).PositionsVisited(first.Stop));
        Assert.Equal(Sampler(0, 1).Permutation(Epoch).Take(5 * BatchSize * 3).Order(), first.Visited.Order());
    }

    [Fact]
    public void A_state_at_the_start_of_an_epoch_resumes_a_whole_epoch_under_any_world_size()
    {
        var resumed = Sampler(1, 2).Resume(EpochStart(3));

        Assert.Equal(Sampler(1, 2).StateAt(Epoch, 0), resumed);
        Assert.Equal(Sampler(1, 2).Batches(Epoch), Sampler(1, 2).Batches(resumed.Epoch, resumed.NextBatch, resumed.ShardedFrom));
    }

    [Fact]
    public void A_state_from_before_elastic_resume_means_a_single_worker_and_the_whole_permutation()
    {
        var legacy = new SamplerState(Seed, Epoch, 7);

        Assert.Equal((1, 0L), (legacy.WorldSize, legacy.ShardedFrom));
        Assert.Equal(legacy, Sampler(0, 1).Resume(legacy));
    }

    [Fact]
    public void Resuming_the_same_world_size_keeps_the_state_as_written()
    {
        var state = Sampler(0, 3).StateAt(Epoch, 5);

        Assert.Same(state, Sampler(2, 3).Resume(state));
    }

    [Fact]
    public void A_batch_beyond_the_epoch_of_the_world_that_wrote_it_is_refused()
    {
        // 997 examples over 3 ranks in batches of 16: 21 batches per epoch, but a single worker has 63.
        var error = Assert.Throws<InvalidOperationException>(() => Sampler(0, 1).Resume(new SamplerState(Seed, Epoch, 30, WorldSize: 3)));

        Assert.Contains("world size 3", error.Message);
    }
}
