using static TorchSharp.torch;

namespace TrainManager.Data;

/// <summary>
/// A data set held in two tensors whose first dimension indexes examples. Batches are gathered with one
/// <c>index_select</c> per tensor, so fetching a batch costs one memory copy regardless of batch size.
/// Takes ownership of both tensors.
/// </summary>
public class TensorDataset : IDataset, IDisposable
{
    public TensorDataset(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.dim() == 0 || targets.dim() == 0)
            throw new ArgumentException("Inputs and targets need a leading example dimension; got a scalar tensor.");
        if (inputs.shape[0] != targets.shape[0])
            throw new ArgumentException($"Inputs hold {inputs.shape[0]} examples but targets hold {targets.shape[0]}; they must match.");
        Inputs = inputs;
        Targets = targets;
    }

    public Tensor Inputs { get; }
    public Tensor Targets { get; }
    public long Count => Inputs.shape[0];

    public Sample Get(long index)
    {
        if (index < 0 || index >= Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The data set has {Count} examples (indices 0..{Count - 1}).");
        return new Sample(Inputs[index], Targets[index]);
    }

    public Batch GetBatch(long[] indices)
    {
        Batch.RequireIndices(indices);
        using var index = tensor(indices, ScalarType.Int64);
        // index_select checks bounds natively, but its message names no data set; ours says what the range is.
        long min = indices.Min(), max = indices.Max();
        if (min < 0 || max >= Count)
            throw new ArgumentOutOfRangeException(nameof(indices), $"Batch index {(min < 0 ? min : max)} is outside 0..{Count - 1}.");
        return new Batch(Inputs.index_select(0, index), Targets.index_select(0, index));
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        GC.SuppressFinalize(this);
    }
}
