namespace TrainManager.Data.Prefetch;

/// <summary>
/// Knows which batches a reader asks for next: given the batch just asked for, the batches that follow it, so they can
/// be read ahead. Null when the batch is not one the plan knows (then nothing is read ahead until one is).
/// </summary>
public interface IBatchPlan
{
    IEnumerable<long[]>? After(long[] batch);
}

/// <summary>
/// The order a <see cref="EpochSampler"/> visits a training split in, over the run's epochs: the order the trainer asks
/// for batches. A batch is recognised within its epoch's permutation (the current epoch or the next; on the first
/// requests, any epoch, so a run resumed mid-way is recognised too).
/// </summary>
public sealed class SamplerBatchPlan(EpochSampler sampler, int epochs) : IBatchPlan
{
    /// <summary>Searches of every epoch while no batch has been recognised yet: each costs a permutation per epoch.</summary>
    const int FullSearches = 4;

    int _lastEpoch = -1;
    int _fullSearchesLeft = FullSearches;
    (int Epoch, long[] Shard)? _cached, _cachedBefore;

    public IEnumerable<long[]>? After(long[] batch)
    {
        if (batch.Length == 0) return null;
        foreach (var epoch in Candidates())
        {
            var found = Find(Shard(epoch), batch);
            if (found < 0) continue;
            _lastEpoch = epoch;
            return Following(epoch, found + 1);
        }
        return null;
    }

    IEnumerable<int> Candidates()
    {
        if (_lastEpoch >= 0)
            return new[] { _lastEpoch, _lastEpoch + 1 }.Where(e => e < epochs);
        if (_fullSearchesLeft-- > 0)
            return Enumerable.Range(0, epochs);
        return [];
    }

    long[] Shard(int epoch)
    {
        if (_cached is { } c && c.Epoch == epoch) return c.Shard;
        if (_cachedBefore is { } b && b.Epoch == epoch) return b.Shard;
        var shard = sampler.Shard(epoch);
        (_cachedBefore, _cached) = (_cached, (epoch, shard));
        return shard;
    }

    /// <summary>The number of the batch of <paramref name="shard"/> equal to <paramref name="batch"/>, or -1.</summary>
    int Find(long[] shard, long[] batch)
    {
        var size = sampler.BatchSize;
        for (var b = 0; b < sampler.BatchesPerEpoch; b++)
        {
            var start = (long)b * size;
            if (shard[start] != batch[0]) continue;
            var length = (int)Math.Min(size, shard.LongLength - start);
            if (length == batch.Length && shard.AsSpan((int)start, length).SequenceEqual(batch)) return b;
        }
        return -1;
    }

    IEnumerable<long[]> Following(int epoch, int fromBatch)
    {
        for (var e = epoch; e < epochs; e++)
            foreach (var batch in sampler.Batches(e, e == epoch ? fromBatch : 0))
                yield return batch;
    }
}

/// <summary>Evaluation's order: consecutive runs of examples (0..k-1, k..2k-1, …) up to the end of the data set.</summary>
public sealed class SequentialBatchPlan(long count) : IBatchPlan
{
    public IEnumerable<long[]>? After(long[] batch)
    {
        if (batch.Length == 0) return null;
        for (var i = 1; i < batch.Length; i++)
            if (batch[i] != batch[0] + i) return null;
        return Following(batch[0] + batch.Length, batch.Length);
    }

    IEnumerable<long[]> Following(long start, int size)
    {
        for (; start < count; start += size)
        {
            var batch = new long[Math.Min(size, count - start)];
            for (var i = 0; i < batch.Length; i++) batch[i] = start + i;
            yield return batch;
        }
    }
}
