using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Data;

/// <summary>One example: the model input and its target, without a batch dimension. Owns both tensors.</summary>
public sealed record Sample(Tensor Input, Tensor Target) : IDisposable
{
    /// <summary>The example at <paramref name="index"/> of a data set that reads whole batches: its batch of one's only row.</summary>
    public static Sample FromBatchOf(IDataset data, long index)
    {
        using var batch = data.GetBatch([index]);
        return new Sample(batch.Input[0], batch.Target[0]);
    }

    public void Dispose()
    {
        Input.Dispose();
        Target.Dispose();
    }
}

/// <summary>A batch: inputs and targets stacked along a leading batch dimension. Owns both tensors.</summary>
public sealed record Batch(Tensor Input, Tensor Target) : IDisposable
{
    public long Size => Input.shape[0];

    /// <summary>What every <see cref="IDataset.GetBatch"/> refuses: no indices, or none at all.</summary>
    public static void RequireIndices(long[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Length == 0)
            throw new ArgumentException("A batch needs at least one index.", nameof(indices));
    }

    public void Dispose()
    {
        Input.Dispose();
        Target.Dispose();
    }
}

/// <summary>
/// A random-access data set. Implement <see cref="Count"/> and <see cref="Get"/>; override
/// <see cref="GetBatch"/> when the data can be gathered in one tensor operation (the default stacks samples one
/// by one, which is correct but slow for large batches).
/// </summary>
public interface IDataset
{
    long Count { get; }

    /// <summary>The example at <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
    Sample Get(long index);

    /// <summary>The examples at <paramref name="indices"/>, in that order, stacked into one batch.</summary>
    Batch GetBatch(long[] indices)
    {
        Batch.RequireIndices(indices);
        using var scope = NewDisposeScope();
        var inputs = new Tensor[indices.Length];
        var targets = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            var sample = Get(indices[i]);
            inputs[i] = sample.Input;
            targets[i] = sample.Target;
        }
        var batch = new Batch(stack(inputs), stack(targets));
        batch.Input.MoveToOuterDisposeScope();
        batch.Target.MoveToOuterDisposeScope();
        return batch;
    }
}
