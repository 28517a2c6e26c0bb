using System.Collections.Concurrent;
using TrainManager.Data;
using TrainManager.Data.Prefetch;
using TrainManager.Testing;
using TrainManager.Tests.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Data;

/// <summary>A data set read "from disk": each example is its own index; it remembers which batches were read, and
/// fails on one index when told to.</summary>
internal sealed class IndexDataset(long count, long failOn = -1) : IDataset
{
    public ConcurrentQueue<long[]> Reads { get; } = new();
    public long Count => count;

    public Sample Get(long index) => throw new NotSupportedException();

    public Batch GetBatch(long[] indices)
    {
        if (indices.Contains(failOn)) throw new DatasetInvalidException($"example {failOn} is corrupt");
        Reads.Enqueue(indices);
        return new Batch(tensor(indices.Select(i => (float)i).ToArray(), [indices.Length, 1]), tensor(indices, [indices.Length]));
    }
}

public sealed class PrefetchTests
{
    static long[] Values(Batch batch) => batch.Target.data<long>().ToArray();

    [Fact]
    public void Prefetched_batches_are_the_batches_of_the_sampler_in_order_across_epochs()
    {
        var sampler = new EpochSampler(50, 8, seed: 3);
        using var data = new PrefetchingDataset(new IndexDataset(50), new SamplerBatchPlan(sampler, epochs: 3), depth: 2);

        for (var epoch = 0; epoch < 3; epoch++)
            foreach (var indices in sampler.Batches(epoch))
            {
                using var batch = data.GetBatch(indices);
                Assert.Equal(indices, Values(batch));
            }

        Assert.Equal(1, data.BatchesReadOnDemand); // only the very first; the next epochs were read ahead too
        Assert.Equal(3 * sampler.BatchesPerEpoch - 1, data.BatchesReadAhead);
    }

    [Fact]
    public void A_run_resumed_mid_epoch_is_recognised_and_read_ahead_from_there()
    {
        var sampler = new EpochSampler(40, 4, seed: 9);
        using var data = new PrefetchingDataset(new IndexDataset(40), new SamplerBatchPlan(sampler, epochs: 5), depth: 3);

        foreach (var indices in sampler.Batches(epoch: 3, fromBatch: 6))
            data.GetBatch(indices).Dispose();

        Assert.Equal(1, data.BatchesReadOnDemand);
        Assert.Equal(sampler.BatchesPerEpoch - 6 - 1, data.BatchesReadAhead);
    }

    [Fact]
    public void Evaluation_order_is_read_ahead_in_consecutive_runs()
    {
        using var data = new PrefetchingDataset(new IndexDataset(10), new SequentialBatchPlan(10), depth: 2);

        foreach (var start in new long[] { 0, 4, 8 })
        {
            var indices = Enumerable.Range(0, (int)Math.Min(4, 10 - start)).Select(i => start + i).ToArray();
            using var batch = data.GetBatch(indices);
            Assert.Equal(indices, Values(batch));
        }
        Assert.Equal(2, data.BatchesReadAhead);
    }

    [Fact]
    public void A_batch_off_the_plan_is_read_on_demand_and_still_right()
    {
        var sampler = new EpochSampler(30, 5, seed: 1);
        using var data = new PrefetchingDataset(new IndexDataset(30), new SamplerBatchPlan(sampler, epochs: 1), depth: 2);
        var batches = sampler.Batches(0).ToList();
        data.GetBatch(batches[0]).Dispose();

        using var odd = data.GetBatch([29, 0, 3]);
        using var next = data.GetBatch(batches[1]);

        Assert.Equal(new long[] { 29, 0, 3 }, Values(odd));
        Assert.Equal(batches[1], Values(next));
    }

    [Fact]
    public void An_error_reading_ahead_is_thrown_where_that_batch_is_asked_for()
    {
        var sampler = new EpochSampler(20, 4, seed: 2, shuffle: false);
        using var data = new PrefetchingDataset(new IndexDataset(20, failOn: 9), new SamplerBatchPlan(sampler, epochs: 1), depth: 2);
        var batches = sampler.Batches(0).ToList();

        data.GetBatch(batches[0]).Dispose();
        data.GetBatch(batches[1]).Dispose();
        var error = Assert.Throws<DatasetInvalidException>(() => data.GetBatch(batches[2]));

        Assert.Equal("example 9 is corrupt", error.Message);
    }

    [Fact]
    public void Stopping_early_stops_the_reading_thread_and_reads_nothing_more()
    {
        var sampler = new EpochSampler(100, 5, seed: 4);
        var inner = new IndexDataset(100);
        var data = new PrefetchingDataset(inner, new SamplerBatchPlan(sampler, epochs: 2), depth: 2);
        foreach (var indices in sampler.Batches(0).Take(3))
            data.GetBatch(indices).Dispose();

        data.Dispose();
        var reads = inner.Reads.Count;
        Thread.Sleep(50);

        Assert.Equal(reads, inner.Reads.Count);
        Assert.InRange(reads, 3, 3 + 2 + 1);
    }

    [Fact]
    public void A_prefetched_batch_joins_the_callers_dispose_scope()
    {
        var sampler = new EpochSampler(10, 2, seed: 5);
        using var data = new PrefetchingDataset(new IndexDataset(10), new SamplerBatchPlan(sampler, epochs: 1), depth: 1);
        var batches = sampler.Batches(0).ToList();
        data.GetBatch(batches[0]).Dispose();

        Batch second;
        using (NewDisposeScope())
            second = data.GetBatch(batches[1]);

        Assert.True(second.Input.IsInvalid);
        Assert.Equal(1, data.BatchesReadAhead);
    }
}

/// <summary>Native lifetimes of reading ahead, where nothing else allocates tensors at the same time.</summary>
[Collection(GarbageCollectionStressCollection.Name)]
public sealed class PrefetchLifetimeTests
{
    [Fact]
    public void Batches_read_ahead_and_never_taken_are_disposed_not_finalized()
    {
        var sampler = new EpochSampler(200, 8, seed: 6);
        using var watch = NativeFinalizations.Watch();

        using (var data = new PrefetchingDataset(new IndexDataset(200), new SamplerBatchPlan(sampler, epochs: 2), depth: 4))
            foreach (var indices in sampler.Batches(0).Take(5))
                data.GetBatch(indices).Dispose();

        Assert.Equal(new FinalizedNativeObjects(0, 0), watch.Stop());
    }

    [Fact]
    public void Prefetched_batches_are_right_while_collections_run_all_the_time()
    {
        var sampler = new EpochSampler(500, 16, seed: 7);
        using var data = new PrefetchingDataset(new IndexDataset(500), new SamplerBatchPlan(sampler, epochs: 3), depth: 2);

        using (GarbageCollectionStress.Start())
            for (var epoch = 0; epoch < 3; epoch++)
                foreach (var indices in sampler.Batches(epoch))
                {
                    using var scope = NewDisposeScope();
                    using var batch = data.GetBatch(indices);
                    var sum = batch.Input.sum().item<float>();
                    Assert.Equal(indices.Sum(), (long)sum);
                }

        Assert.True(data.BatchesReadAhead > 0);
    }
}
