using TorchSharp;

namespace TrainManager.Runtime;

/// <summary>
/// Scalars made explicitly and kept alive until this is disposed. A Scalar made by an implicit conversion
/// (<c>x.mul(0.5)</c>) is unreachable as soon as its handle has been read, so a garbage collection on another thread
/// can finalize it while libtorch still reads it. Open one per stage or per call, on the thread that runs it:
/// <code>using var scalars = new OwnedScalars();
/// var index = values.sub(scalars[lo]).mul(scalars[scale]);</code>
/// </summary>
public sealed class OwnedScalars : IDisposable
{
    readonly List<Scalar> _made = [];

    /// <summary>A double-precision Scalar holding <paramref name="value"/>, alive until <see cref="Dispose"/>.</summary>
    public Scalar this[double value] => Keep(value.ToScalar());

    /// <summary>An integer Scalar holding <paramref name="value"/> (for integer tensors, where a floating-point Scalar
    /// is refused), alive until <see cref="Dispose"/>.</summary>
    public Scalar Integer(long value) => Keep(value.ToScalar());

    Scalar Keep(Scalar scalar)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _made.Add(scalar);
        return scalar;
    }

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var scalar in _made) scalar.Dispose();
        _made.Clear();
    }
}
