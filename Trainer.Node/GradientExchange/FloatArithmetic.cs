using System.Numerics;
using System.Runtime.InteropServices;

namespace TrainManager.Node.GradientExchange;

/// <summary>The two element-wise loops a reduction needs, vectorised: the ring must add as fast as the socket
/// delivers, or the reduction, not the network, becomes the limit.</summary>
internal static class FloatArithmetic
{
    public static void Add(Span<float> into, ReadOnlySpan<float> values)
    {
        if (values.Length != into.Length)
            throw new ArgumentException($"Adding {values.Length} floats into {into.Length}.", nameof(values));
        var intoVectors = MemoryMarshal.Cast<float, Vector<float>>(into);
        var valueVectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        for (var i = 0; i < intoVectors.Length; i++)
            intoVectors[i] += valueVectors[i];
        for (var i = intoVectors.Length * Vector<float>.Count; i < into.Length; i++)
            into[i] += values[i];
    }

    public static void Divide(Span<float> values, float divisor)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        var divisors = new Vector<float>(divisor);
        for (var i = 0; i < vectors.Length; i++)
            vectors[i] /= divisors;
        for (var i = vectors.Length * Vector<float>.Count; i < values.Length; i++)
            values[i] /= divisor;
    }
}
