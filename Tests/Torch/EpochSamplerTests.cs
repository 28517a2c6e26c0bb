using TrainManager.Data;

namespace TrainManager.Tests.Torch;

public sealed class EpochSamplerTests
{
    [Fact]
    public void The_same_seed_and_epoch_give_the_same_order_in_separate_samplers()
    {
        var a = new EpochSampler(1000, 32, seed: 7);
        var b = new EpochSampler(1000, 32, seed: 7);

        Assert.Equal(a.Permutation(5), b.Permutation(5));
    }

    [Fact]
    public void The_order_is_pinned_so_resumed_runs_replay_it_across_releases()
    {
        // Changing these numbers breaks resuming every existing checkpoint mid-epoch: don't, without a format bump.
        var sampler = new EpochSampler(10, 4, seed: 42);

        Assert.Equal([9L, 3, 4, 2, 6, 0, 8, 1, 5, 7], sampler.Permutation(0));
        Assert.Equal([4L, 0, 9, 2, 7, 8, 1, 3, 6, 5], sampler.Permutation(1));
    }

    [Fact]
    public void Each_epoch_and_each_seed_gets_a_different_order()
    {
        var sampler = new EpochSampler(1000, 32, seed: 7);

        Assert.NotEqual(sampler.Permutation(0), sampler.Permutation(1));
        Assert.NotEqual(sampler.Permutation(0), new EpochSampler(1000, 32, seed: 8).Permutation(0));
    }

    [Fact]
    public void An_epoch_visits_every_example_exactly_once()
    {
        var permutation = new EpochSampler(1001, 32, seed: 3).Permutation(2);

        Assert.Equal(Enumerable.Range(0, 1001).Select(i => (long)i), permutation.Order());
    }

    [Fact]
    public void Without_shuffle_the_order_is_the_dataset_order()
    {
        Assert.Equal([0L, 1, 2, 3, 4], new EpochSampler(5, 2, seed: 1, shuffle: false).Permutation(9));
    }

    [Fact]
    public void Shards_of_a_divisible_dataset_are_disjoint_and_together_cover_it()
    {
        var shards = Enumerable.Range(0, 4).Select(r => new EpochSampler(1000, 16, seed: 11, rank: r, worldSize: 4).Shard(3)).ToList();

        Assert.All(shards, s => Assert.Equal(250, s.Length));
        Assert.Equal(1000, shards.SelectMany(s => s).Distinct().Count());
    }

    [Fact]
    public void Shards_of_an_indivisible_dataset_cover_it_with_equal_lengths()
    {
        var shards = Enumerable.Range(0, 3).Select(r => new EpochSampler(1000, 16, seed: 11, rank: r, worldSize: 3).Shard(0)).ToList();

        Assert.All(shards, s => Assert.Equal(334, s.Length));
        Assert.Equal(1000, shards.SelectMany(s => s).Distinct().Count());
    }

    [Fact]
    public void Batches_cover_the_shard_in_order_with_a_short_last_batch()
    {
        var sampler = new EpochSampler(10, 4, seed: 42);

        var batches = sampler.Batches(0).ToList();

        Assert.Equal([4, 4, 2], batches.Select(b => b.Length));
        Assert.Equal(sampler.Shard(0), batches.SelectMany(b => b));
        Assert.Equal(3, sampler.BatchesPerEpoch);
    }

    [Fact]
    public void Drop_last_omits_the_short_batch()
    {
        var sampler = new EpochSampler(10, 4, seed: 42, dropLast: true);

        Assert.Equal([4, 4], sampler.Batches(0).Select(b => b.Length));
    }

    [Fact]
    public void Resuming_from_a_saved_state_yields_the_remaining_batches_of_the_epoch()
    {
        var sampler = new EpochSampler(100, 8, seed: 5);
        var all = sampler.Batches(4).ToList();
        var state = sampler.StateAt(4, batchesDone: 5);

        var resumed = new EpochSampler(100, 8, seed: 5);
        resumed.ValidateResume(state);
        var rest = resumed.Batches(state.Epoch, state.NextBatch).ToList();

        Assert.Equal(all.Skip(5), rest);
    }

    [Fact]
    public void Resuming_with_another_seed_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new EpochSampler(100, 8, seed: 6).ValidateResume(new SamplerState(5, 0, 0)));

        Assert.Contains("seed", error.Message);
    }

    [Fact]
    public void A_rank_outside_the_world_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpochSampler(100, 8, seed: 1, rank: 2, worldSize: 2));
    }
}
