using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Node.GradientExchange;

/// <summary>
/// A list of float32 tensors seen as flat runs of floats, in list order: what a tensor collective reduces. Holds one
/// flat view per tensor (same storage, no copy), disposed with the list.
/// </summary>
internal sealed class FlatTensorList : IDisposable
{
    private readonly Tensor[] _flat;

    private FlatTensorList(Tensor[] flat)
    {
        _flat = flat;
        AnyOnCuda = flat.Any(t => t.device_type == DeviceType.CUDA);
    }

    public int Count => _flat.Length;

    /// <summary>True when any tensor lives on a CUDA device, so host copies should go through pinned memory.</summary>
    public bool AnyOnCuda { get; }

    public long Length(int tensor) => _flat[tensor].numel();

    /// <exception cref="ArgumentException">A tensor is null, not float32 or not contiguous.</exception>
    public static FlatTensorList Create(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i] ?? throw new ArgumentException($"tensors[{i}] is null.", nameof(tensors));
            if (tensor.dtype != ScalarType.Float32)
                throw new ArgumentException($"tensors[{i}] is {tensor.dtype}; the ring reduces float32 tensors only.", nameof(tensors));
            if (!tensor.is_contiguous())
                throw new ArgumentException(
                    $"tensors[{i}] (shape [{string.Join(", ", tensor.shape)}]) is not contiguous; reduce a tensor.contiguous() copy and copy it back.",
                    nameof(tensors));
        }

        var flat = new Tensor[tensors.Count];
        try
        {
            for (var i = 0; i < tensors.Count; i++)
                flat[i] = tensors[i].view(-1);
        }
        catch
        {
            foreach (var view in flat)
                view?.Dispose();
            throw;
        }
        return new FlatTensorList(flat);
    }

    /// <summary>The floats of a segment in the tensor's own memory, when it is CPU memory a span can cover; otherwise
    /// the segment has to be copied through a host buffer.</summary>
    public bool TryGetHostSpan(in BucketSegment segment, out Span<float> floats)
    {
        var tensor = _flat[segment.Tensor];
        if (tensor.device_type != DeviceType.CPU || tensor.numel() > int.MaxValue / sizeof(float))
        {
            floats = default;
            return false;
        }
        floats = MemoryMarshal.Cast<byte, float>(tensor.bytes).Slice((int)segment.Offset, segment.Count);
        return true;
    }

    /// <summary>Copies a segment between its tensor and <paramref name="slot"/>, a CPU tensor of the segment's length;
    /// <c>copy_</c> moves between devices too, so the same call serves CPU and CUDA tensors.</summary>
    public void Copy(in BucketSegment segment, Tensor slot, bool intoSlot)
    {
        using var part = _flat[segment.Tensor].narrow(0, segment.Offset, segment.Count);
        if (intoSlot)
            slot.copy_(part);
        else
            part.copy_(slot);
    }

    public void Dispose()
    {
        foreach (var view in _flat)
            view.Dispose();
    }
}
