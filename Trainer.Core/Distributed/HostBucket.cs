using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// The reusable host buffer tensor collectives reduce in: a window of the flattened tensors is copied in, reduced
/// over the ring straight from this memory and copied back. A CPU tensor, so that one <c>copy_</c> fills it from CPU
/// and CUDA tensors alike; page-locked once CUDA tensors show up, so their device-to-host copies run at DMA speed.
/// </summary>
internal sealed class HostBucket(int capacity) : IDisposable
{
    private Tensor? _buffer;

    /// <summary>Copies floats [start, start + length) of <paramref name="tensors"/> into the bucket and returns them.</summary>
    public Span<float> Gather(FlatTensorList tensors, long start, int length)
    {
        var buffer = Buffer(length, tensors.AnyOnCuda);
        tensors.CopyWindow(start, length, buffer, intoWindow: true);
        return MemoryMarshal.Cast<byte, float>(buffer.bytes)[..length];
    }

    /// <summary>Copies the first <paramref name="length"/> floats of the bucket back to where they came from.</summary>
    public void Scatter(FlatTensorList tensors, long start, int length) =>
        tensors.CopyWindow(start, length, _buffer!, intoWindow: false);

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
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
