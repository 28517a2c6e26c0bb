using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// A list of float32 tensors seen as one flat sequence of floats, in list order: what a tensor collective reduces.
/// Holds one flat view per tensor (same storage, no copy), disposed with the list.
/// </summary>
internal sealed class FlatTensorList : IDisposable
{
    private readonly Tensor[] _flat;
    private readonly long[] _starts; // _starts[i] = index of tensor i's first float; _starts[^1] = total

    private FlatTensorList(Tensor[] flat, long[] starts)
    {
        _flat = flat;
        _starts = starts;
    }

    public long Elements => _starts[^1];

    /// <summary>True when any tensor lives on a CUDA device, so host copies should go through pinned memory.</summary>
    public bool AnyOnCuda { get; private init; }

    /// <exception cref="ArgumentException">A tensor is not float32 or not contiguous.</exception>
    public static long CountElements(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long total = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i] ?? throw new ArgumentException($"tensors[{i}] is null.", nameof(tensors));
            if (tensor.dtype != ScalarType.Float32)
                throw new ArgumentException($"tensors[{i}] is {tensor.dtype}; the ring reduces float32 tensors only.", nameof(tensors));
            if (!tensor.is_contiguous())
                throw new ArgumentException(
                    $"tensors[{i}] (shape [{string.Join(", ", tensor.shape)}]) is not contiguous; reduce a tensor.contiguous() copy and copy it back.",
                    nameof(tensors));
            total += tensor.numel();
        }
        return total;
    }

    /// <summary>Call after <see cref="CountElements"/> has accepted the list.</summary>
    public static FlatTensorList Create(IReadOnlyList<Tensor> tensors)
    {
        var flat = new Tensor[tensors.Count];
        var starts = new long[tensors.Count + 1];
        var anyOnCuda = false;
        try
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                flat[i] = tensors[i].view(-1);
                starts[i + 1] = starts[i] + flat[i].numel();
                anyOnCuda |= tensors[i].device_type == DeviceType.CUDA;
            }
        }
        catch
        {
            foreach (var view in flat)
                view?.Dispose();
            throw;
        }
        return new FlatTensorList(flat, starts) { AnyOnCuda = anyOnCuda };
    }

    /// <summary>Copies floats [<paramref name="start"/>, start + length) of the list to or from
    /// <paramref name="window"/>, a CPU tensor of at least that many elements, segment by segment.</summary>
    public void CopyWindow(long start, int length, Tensor window, bool intoWindow)
    {
        var i = TensorContaining(start);
        var done = 0;
        while (done < length)
        {
            var inTensor = start + done - _starts[i];
            var count = (int)Math.Min(_starts[i + 1] - _starts[i] - inTensor, length - done);
            if (count > 0)
            {
                // copy_ moves between devices too: the same call serves CPU and CUDA tensors.
                using var segment = _flat[i].narrow(0, inTensor, count);
                using var slot = window.narrow(0, done, count);
                if (intoWindow)
                    slot.copy_(segment);
                else
                    segment.copy_(slot);
                done += count;
            }
            i++;
        }
    }

    public void Dispose()
    {
        foreach (var view in _flat)
            view.Dispose();
    }

    /// <summary>The last tensor that starts at or before <paramref name="element"/>; empty tensors share their start
    /// with the next one, so the last such tensor is the one that holds the element.</summary>
    private int TensorContaining(long element)
    {
        int low = 0, high = _flat.Length; // answer in [low, high)
        while (high - low > 1)
        {
            var middle = (low + high) / 2;
            if (_starts[middle] <= element)
                low = middle;
            else
                high = middle;
        }
        return low;
    }
}
