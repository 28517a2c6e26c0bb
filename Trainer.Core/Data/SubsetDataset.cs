using static TorchSharp.torch;

namespace TrainManager.Data;

/// <summary>
/// Some examples of another data set, in a given order (the first N for <c>train-limit</c>, one side of a split). Reads
/// through to the data set it views, so a lazily read source stays lazy. Several subsets of one data set share it, and
/// the last one disposed disposes it.
/// </summary>
public sealed class SubsetDataset : IDataset, IDisposable
{
    readonly IDataset _inner;
    readonly long[] _indices;
    readonly SharedDataset _shared;
    int _disposed;

    SubsetDataset(SharedDataset shared, long[] indices)
    {
        _shared = shared;
        _inner = shared.Dataset;
        _indices = indices;
        shared.Acquire();
    }

    /// <summary>Subsets of <paramref name="data"/>, one per list of indices, that own it together.</summary>
    public static SubsetDataset[] Of(IDataset data, params long[][] indices)
    {
        var shared = new SharedDataset(data);
        var subsets = indices.Select(i => new SubsetDataset(shared, i)).ToArray();
        return subsets;
    }

    public long Count => _indices.LongLength;

    /// <summary>The index in the viewed data set of each example, in this subset's order.</summary>
    public IReadOnlyList<long> Indices => _indices;

    public Sample Get(long index) => _inner.Get(_indices[Check(index)]);

    public Batch GetBatch(long[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var mapped = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++) mapped[i] = _indices[Check(indices[i])];
        return _inner.GetBatch(mapped);
    }

    long Check(long index) =>
        index >= 0 && index < _indices.LongLength ? index
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"The data set has {Count} examples (indices 0..{Count - 1}).");

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _shared.Release();
    }

    sealed class SharedDataset(IDataset dataset)
    {
        int _users;
        public IDataset Dataset { get; } = dataset;
        public void Acquire() => Interlocked.Increment(ref _users);

        public void Release()
        {
            if (Interlocked.Decrement(ref _users) == 0) (Dataset as IDisposable)?.Dispose();
        }
    }
}

/// <summary>Limits and random splits of a data set: what <c>train-limit</c>, <c>validation</c> and <c>test-fraction</c> do.</summary>
public static class DatasetSplits
{
    /// <summary>Salts that make the validation split and a source's test split differ from each other and from the
    /// epochs' orders under one seed (they are passed where the sampler takes an epoch number).</summary>
    public const int ValidationSalt = 0x7A11D, TestSalt = 0x7E57;

    /// <summary>The first <paramref name="limit"/> examples (all when <paramref name="limit"/> is 0 or at least the count).
    /// Takes ownership of <paramref name="data"/>.</summary>
    public static IDataset First(IDataset data, long limit)
    {
        if (limit <= 0 || limit >= data.Count) return data;
        if (data is TensorDataset tensors)
        {
            // Views share the storage, which stays alive after the full tensors' handles are released.
            var limited = new TensorDataset(tensors.Inputs.narrow(0, 0, limit), tensors.Targets.narrow(0, 0, limit));
            tensors.Dispose();
            return limited;
        }
        var indices = new long[limit];
        for (long i = 0; i < limit; i++) indices[i] = i;
        return SubsetDataset.Of(data, indices)[0];
    }

    /// <summary>
    /// Splits off round(<paramref name="fraction"/> × count) examples chosen at random with <paramref name="seed"/> (the
    /// same every time for the same seed, salt and count); both sides keep the original order. Takes ownership of
    /// <paramref name="data"/>.
    /// </summary>
    /// <param name="what">Names the split in errors (e.g. "data.validation").</param>
    public static (IDataset Remaining, IDataset Part) Split(IDataset data, double fraction, long seed, int salt, string what)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new DatasetInvalidException($"{what} must be a fraction between 0 and 1 (e.g. 0.1), but is {fraction}.");
        var count = data.Count;
        var partCount = (long)Math.Round(count * fraction);
        if (partCount < 1 || partCount >= count)
            throw new DatasetInvalidException(
                $"{what} = {fraction} of {count} examples leaves {(partCount < 1 ? "nothing to split off" : "nothing to train on")}; use a fraction that leaves at least one example on each side.");
        var (rest, part) = Partition(count, partCount, seed, salt);
        if (data is TensorDataset tensors)
        {
            // In memory: each side gets its own copy, so each owns what it holds and the whole can go now.
            try
            {
                return (Select(tensors, rest), Select(tensors, part));
            }
            finally
            {
                tensors.Dispose();
            }
        }
        var subsets = SubsetDataset.Of(data, rest, part);
        return (subsets[0], subsets[1]);
    }

    /// <summary>Positions 0..count-1 cut into a random part of <paramref name="partCount"/> and the rest, each sorted.</summary>
    public static (long[] Remaining, long[] Part) Partition(long count, long partCount, long seed, int salt)
    {
        var permutation = new EpochSampler(count, 1, seed).Permutation(salt);
        var part = permutation.AsSpan(0, (int)partCount).ToArray();
        var rest = permutation.AsSpan((int)partCount).ToArray();
        Array.Sort(part);
        Array.Sort(rest);
        return (rest, part);
    }

    static TensorDataset Select(TensorDataset data, long[] indices)
    {
        using var index = tensor(indices, ScalarType.Int64);
        return new TensorDataset(data.Inputs.index_select(0, index), data.Targets.index_select(0, index));
    }
}
