namespace TrainManager.Data;

/// <summary>Where a sampler stands, for checkpoints: resuming replays the same permutation from the next batch.</summary>
public sealed record SamplerState(long Seed, int Epoch, int NextBatch);

/// <summary>
/// Cuts each epoch into batches of dataset indices. The epoch's order is a permutation that depends only on
/// (seed, epoch), computed with our own generator (SplitMix64 + xoshiro256**) rather than System.Random or
/// libtorch's, whose streams are not promised to stay the same across versions; so a run resumed months later,
/// or on another machine, sees the same batches.
/// <para>
/// Data parallelism: every rank computes the same permutation and takes positions rank, rank + world, … of it
/// (as PyTorch's DistributedSampler does). When the dataset size is not a multiple of the world size the
/// permutation is padded by wrapping around to its start, so every rank runs the same number of batches and
/// gradient all-reduces stay in step; the few repeated examples are the price.
/// </para>
/// </summary>
public sealed class EpochSampler
{
    public EpochSampler(long datasetSize, int batchSize, long seed, bool shuffle = true, bool dropLast = false, int rank = 0, int worldSize = 1)
    {
        if (datasetSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "The dataset is empty; there is nothing to sample.");
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        if (worldSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "The world size must be positive.");
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"The rank must be in 0..{worldSize - 1} for world size {worldSize}.");
        DatasetSize = datasetSize;
        BatchSize = batchSize;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
        Rank = rank;
        WorldSize = worldSize;
        if (BatchesPerEpoch == 0)
            throw new ArgumentException($"With {ShardSize} examples per rank, batch size {batchSize} and dropLast, an epoch would have no batches.");
    }

    public long DatasetSize { get; }
    public int BatchSize { get; }
    public long Seed { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>Examples each rank sees per epoch (the padded size divided by the world size).</summary>
    public long ShardSize => (DatasetSize + WorldSize - 1) / WorldSize;

    public int BatchesPerEpoch => (int)(DropLast ? ShardSize / BatchSize : (ShardSize + BatchSize - 1) / BatchSize);

    /// <summary>The full permutation of 0..DatasetSize-1 for <paramref name="epoch"/>, identical on every rank.</summary>
    public long[] Permutation(int epoch)
    {
        var order = new long[DatasetSize];
        for (long i = 0; i < order.LongLength; i++)
            order[i] = i;
        if (!Shuffle)
            return order;
        var random = new Xoshiro256StarStar(SplitMix64.Mix((ulong)Seed, (ulong)epoch));
        // Fisher–Yates, back to front.
        for (long i = order.LongLength - 1; i > 0; i--)
        {
            long j = (long)random.NextBelow((ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>This rank's indices for <paramref name="epoch"/>, in the order they are visited.</summary>
    public long[] Shard(int epoch)
    {
        var permutation = Permutation(epoch);
        var shard = new long[ShardSize];
        for (long k = 0; k < shard.LongLength; k++)
            shard[k] = permutation[(Rank + k * WorldSize) % permutation.LongLength];
        return shard;
    }

    /// <summary>The epoch's batches for this rank, starting at <paramref name="fromBatch"/> (to resume mid-epoch).</summary>
    public IEnumerable<long[]> Batches(int epoch, int fromBatch = 0)
    {
        if (fromBatch < 0 || fromBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(fromBatch), fromBatch, $"An epoch has {BatchesPerEpoch} batches.");
        var shard = Shard(epoch);
        for (int b = fromBatch; b < BatchesPerEpoch; b++)
        {
            long start = (long)b * BatchSize;
            long length = Math.Min(BatchSize, shard.LongLength - start);
            yield return shard.AsSpan((int)start, (int)length).ToArray();
        }
    }

    /// <summary>The state to checkpoint after <paramref name="batchesDone"/> batches of <paramref name="epoch"/>.</summary>
    public SamplerState StateAt(int epoch, int batchesDone) => new(Seed, epoch, batchesDone);

    /// <summary>Checks that a checkpointed state belongs to this sampler's seed before it is resumed.</summary>
    public void ValidateResume(SamplerState state)
    {
        if (state.Seed != Seed)
            throw new InvalidOperationException(
                $"The checkpoint's sampler seed is {state.Seed} but this run's is {Seed}; resuming would replay different batches. " +
                "Use the checkpointed seed, or start a new run.");
        if (state.NextBatch < 0 || state.NextBatch > BatchesPerEpoch)
            throw new InvalidOperationException($"The checkpoint resumes at batch {state.NextBatch}, but an epoch here has {BatchesPerEpoch} batches (batch size or data set changed?).");
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014): turns correlated seeds such as (seed, epoch) into independent ones.</summary>
    static class SplitMix64
    {
        public static ulong Next(ref ulong state)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public static ulong Mix(ulong seed, ulong epoch)
        {
            ulong state = seed;
            ulong a = Next(ref state);
            state = a ^ epoch;
            return Next(ref state);
        }
    }

    /// <summary>xoshiro256** (Blackman, Vigna 2018), seeded through SplitMix64 as its authors recommend.</summary>
    struct Xoshiro256StarStar
    {
        ulong _s0, _s1, _s2, _s3;

        public Xoshiro256StarStar(ulong seed)
        {
            _s0 = SplitMix64.Next(ref seed);
            _s1 = SplitMix64.Next(ref seed);
            _s2 = SplitMix64.Next(ref seed);
            _s3 = SplitMix64.Next(ref seed);
        }

        ulong Next()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }

        /// <summary>Uniform in [0, bound), by rejection so that no index is favoured.</summary>
        public ulong NextBelow(ulong bound)
        {
            ulong threshold = (0UL - bound) % bound;
            while (true)
            {
                ulong r = Next();
                if (r >= threshold)
                    return r % bound;
            }
        }
    }
}
