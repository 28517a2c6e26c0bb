namespace TrainManager.Data;

/// <summary>Where a sampler stands, for checkpoints: resuming replays the same permutation from the next batch.</summary>
/// <param name="NextBatch">The next batch of the epoch, numbered as <paramref name="WorldSize"/> ranks number it (per rank).</param>
/// <param name="WorldSize">The world size the state was written under; 1 for checkpoints that predate elastic resume.</param>
/// <param name="ShardedFrom">Positions of the epoch's permutation visited before this world size took over mid-epoch
/// (0 unless the epoch was resumed under another world size): the epoch's batches shard the positions from here on.</param>
public sealed record SamplerState(long Seed, int Epoch, int NextBatch, int WorldSize = 1, long ShardedFrom = 0);

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
/// <para>
/// Elastic resume: because ranks interleave, after n batches per rank the ranks together have visited exactly the
/// first n · batch · world positions of the permutation. A state written mid-epoch under another world size is
/// resumed by sharding the positions not yet visited over this world, the same interleaved way (padded by wrapping
/// around to the first of them). Batches of such a partial epoch are numbered so that it still ends at
/// <see cref="BatchesPerEpoch"/>, so "the epoch's last batch" and "stopped mid-epoch" mean what they always did.
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
    public long ShardSize => ShardLength(DatasetSize, WorldSize);

    public int BatchesPerEpoch => BatchCount(ShardSize);

    /// <summary>The index of the first batch of an epoch sharded from position <paramref name="shardedFrom"/> of its
    /// permutation: 0 for a whole epoch; for a partial one, such that its last batch is still the epoch's last.</summary>
    public int FirstBatch(long shardedFrom) => FirstBatchFor(shardedFrom, WorldSize);

    static long ShardLength(long positions, int worldSize) => (positions + worldSize - 1) / worldSize;

    int BatchCount(long shardLength) => (int)(DropLast ? shardLength / BatchSize : (shardLength + BatchSize - 1) / BatchSize);

    int BatchesPerEpochFor(int worldSize) => BatchCount(ShardLength(DatasetSize, worldSize));

    int FirstBatchFor(long shardedFrom, int worldSize) =>
        BatchesPerEpochFor(worldSize) - BatchCount(ShardLength(DatasetSize - shardedFrom, worldSize));

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

    /// <summary>This rank's indices for <paramref name="epoch"/>, in the order they are visited: of the whole
    /// permutation, or of its positions from <paramref name="shardedFrom"/> on.</summary>
    public long[] Shard(int epoch, long shardedFrom = 0)
    {
        CheckPosition(shardedFrom);
        var permutation = Permutation(epoch);
        long positions = DatasetSize - shardedFrom;
        var shard = new long[ShardLength(positions, WorldSize)];
        for (long k = 0; k < shard.LongLength; k++)
            shard[k] = permutation[shardedFrom + (Rank + k * WorldSize) % positions];
        return shard;
    }

    /// <summary>The epoch's batches for this rank, starting at <paramref name="fromBatch"/> (to resume mid-epoch);
    /// <paramref name="shardedFrom"/> as in <see cref="SamplerState"/>.</summary>
    public IEnumerable<long[]> Batches(int epoch, int fromBatch = 0, long shardedFrom = 0)
    {
        CheckPosition(shardedFrom);
        var first = FirstBatch(shardedFrom);
        if (fromBatch < first || fromBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(fromBatch), fromBatch,
                first == 0 ? $"An epoch has {BatchesPerEpoch} batches." : $"This partial epoch has batches {first} to {BatchesPerEpoch - 1}.");
        return BatchesOfShard(epoch, shardedFrom, fromBatch - first, BatchesPerEpoch - first);
    }

    IEnumerable<long[]> BatchesOfShard(int epoch, long shardedFrom, int from, int count)
    {
        var shard = Shard(epoch, shardedFrom);
        for (int b = from; b < count; b++)
        {
            long start = (long)b * BatchSize;
            long length = Math.Min(BatchSize, shard.LongLength - start);
            yield return shard.AsSpan((int)start, (int)length).ToArray();
        }
    }

    void CheckPosition(long shardedFrom)
    {
        if (shardedFrom < 0 || shardedFrom > DatasetSize)
            throw new ArgumentOutOfRangeException(nameof(shardedFrom), shardedFrom, $"A partial epoch starts at a position from 0 to {DatasetSize}.");
    }

    /// <summary>The state to checkpoint after <paramref name="batchesDone"/> batches of <paramref name="epoch"/>
    /// (sharded from <paramref name="shardedFrom"/> when it is a partial epoch resumed under another world size).</summary>
    public SamplerState StateAt(int epoch, int batchesDone, long shardedFrom = 0) => new(Seed, epoch, batchesDone, WorldSize, shardedFrom);

    /// <summary>How many positions of its epoch's permutation the ranks of <paramref name="state"/>'s world had visited
    /// when it was written.</summary>
    public long PositionsVisited(SamplerState state)
    {
        long batchesOfPart = state.NextBatch - FirstBatchFor(state.ShardedFrom, state.WorldSize);
        return Math.Min(DatasetSize, state.ShardedFrom + batchesOfPart * BatchSize * state.WorldSize);
    }

    /// <summary>
    /// Where this sampler goes on from a checkpointed state: that state itself when it was written under this world
    /// size; otherwise the same point of the epoch for this world, its unvisited positions sharded over these ranks.
    /// </summary>
    public SamplerState Resume(SamplerState saved)
    {
        ValidateResume(saved);
        if (saved.WorldSize == WorldSize)
            return saved;
        var visited = PositionsVisited(saved);
        return StateAt(saved.Epoch, FirstBatch(visited), visited);
    }

    /// <summary>Checks that a checkpointed state belongs to this sampler's seed and data before it is resumed.</summary>
    public void ValidateResume(SamplerState state)
    {
        if (state.Seed != Seed)
            throw new InvalidOperationException(
                $"The checkpoint's sampler seed is {state.Seed} but this run's is {Seed}; resuming would replay different batches. " +
                "Use the checkpointed seed, or start a new run.");
        if (state.WorldSize <= 0)
            throw new InvalidOperationException($"The checkpoint's sampler state names world size {state.WorldSize}; it must be positive.");
        if (state.ShardedFrom < 0 || state.ShardedFrom > DatasetSize)
            throw new InvalidOperationException(
                $"The checkpoint resumes its epoch from position {state.ShardedFrom}, but the data set here has {DatasetSize} examples (data set changed?).");
        var first = FirstBatchFor(state.ShardedFrom, state.WorldSize);
        var last = BatchesPerEpochFor(state.WorldSize);
        if (state.NextBatch < first || state.NextBatch > last)
        {
            var written = state.WorldSize == WorldSize ? "" : $" under world size {state.WorldSize}";
            var range = first == 0 ? $"an epoch{written} has {last} batches" : $"that partial epoch{written} has batches {first} to {last - 1}";
            throw new InvalidOperationException($"The checkpoint resumes at batch {state.NextBatch}, but {range} here (batch size or data set changed?).");
        }
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
