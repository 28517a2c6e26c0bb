using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Node.GradientExchange;

/// <summary>
/// The reusable host buffer a window of several tensors, or of a tensor outside CPU memory, is reduced in: copied in,
/// reduced over the ring straight from this memory, copied back. A CPU tensor, so that one <c>copy_</c> fills it from
/// CPU and CUDA tensors alike; page-locked once CUDA tensors show up, so their device-to-host copies run at DMA speed.
/// </summary>
internal sealed class HostBucket(int capacity) : IDisposable
{
    private Tensor? _buffer;

    /// <summary>Copies the window's segments into the bucket, one after another, and returns them.</summary>
    public Span<float> Gather(FlatTensorList tensors, BucketPlan plan, BucketWindow window)
    {
        var buffer = Buffer(window.Length, tensors.AnyOnCuda);
        CopySegments(tensors, plan, window, buffer, intoBucket: true);
        return MemoryMarshal.Cast<byte, float>(buffer.bytes)[..window.Length];
    }

    /// <summary>Copies the bucket back into the window's segments.</summary>
    public void Scatter(FlatTensorList tensors, BucketPlan plan, BucketWindow window) =>
        CopySegments(tensors, plan, window, _buffer!, intoBucket: false);

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }

    private static void CopySegments(FlatTensorList tensors, BucketPlan plan, BucketWindow window, Tensor buffer, bool intoBucket)
    {
        var at = 0;
        for (var i = 0; i < window.SegmentCount; i++)
        {
            var segment = plan.Segment(window, i);
            using var slot = buffer.narrow(0, at, segment.Count);
            tensors.Copy(segment, slot, intoBucket);
            at += segment.Count;
        }
    }

    private Tensor Buffer(int length, bool pinned)
    {
        if (length > capacity)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The bucket holds {capacity} floats.");
        if (_buffer is not null && _buffer.numel() >= length && (!pinned || _buffer.is_pinned()))
            return _buffer;

        // Grown on demand up to the bucket size: a small model should not pay for a large bucket setting.
        var size = Math.Max(length, (int)Math.Min(capacity, (_buffer?.numel() ?? 0) * 2));
        _buffer?.Dispose();
        _buffer = null;
        var buffer = empty(size, ScalarType.Float32);
        if (pinned)
        {
            var locked = buffer.pin_memory();
            buffer.Dispose();
            buffer = locked;
        }
        // The bucket lives as long as the ring; a caller's per-batch DisposeScope must not take it.
        _buffer = buffer.DetachFromDisposeScope();
        return _buffer;
    }
}
