using System.Buffers.Binary;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// Frames records the way TFRecord files do: uint64 length, masked CRC-32C of the length, the data,
/// masked CRC-32C of the data, all little-endian. The stream stays owned by the caller.
/// </summary>
public sealed class TfRecordWriter(Stream stream)
{
    private const int LengthSize = sizeof(ulong);
    private const int CrcSize = sizeof(uint);

    public void Write(ReadOnlySpan<byte> record)
    {
        Span<byte> header = stackalloc byte[LengthSize + CrcSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[LengthSize..], Crc32C.ComputeMasked(header[..LengthSize]));

        Span<byte> footer = stackalloc byte[CrcSize];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.ComputeMasked(record));

        stream.Write(header);
        stream.Write(record);
        stream.Write(footer);
    }
}
