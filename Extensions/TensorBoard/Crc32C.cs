using System.Buffers.Binary;
using System.Numerics;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// CRC-32C (Castagnoli), the checksum TFRecord framing uses, and TFRecord's masking of it.
/// </summary>
public static class Crc32C
{
    /// <summary>The standard CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the raw hardware step (SSE4.2 crc32 / ARM crc32c) with no pre/post inversion.
        var crc = 0xFFFFFFFFu;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>
    /// TFRecord stores masked checksums so that a CRC computed over data that itself contains CRCs stays well-distributed.
    /// </summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;

    /// <summary>The masked CRC-32C of <paramref name="data"/>, as written into a TFRecord.</summary>
    public static uint ComputeMasked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
