using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// The few pieces of the protobuf wire format that TensorBoard events need, hand-encoded so that no
/// generated code or protobuf runtime is required. Fields are written in the order they are called.
/// </summary>
internal sealed class ProtobufWriter
{
    private enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public void WriteDouble(int field, double value)
    {
        WriteTag(field, WireType.Fixed64);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(sizeof(double)), value);
        _buffer.Advance(sizeof(double));
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireType.Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(sizeof(float)), value);
        _buffer.Advance(sizeof(float));
    }

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireType.Varint);
        // int64 (not sint64) encodes negatives as their two's complement, i.e. ten bytes.
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteString(int field, string value)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        WriteTag(field, WireType.LengthDelimited);
        WriteVarint((ulong)byteCount);
        _buffer.Advance(Encoding.UTF8.GetBytes(value, _buffer.GetSpan(byteCount)));
    }

    public void WriteMessage(int field, ProtobufWriter message) => WriteBytes(field, message.WrittenSpan);

    /// <summary>A repeated double field in packed encoding (one length-delimited run of fixed64 values).</summary>
    public void WritePackedDoubles(int field, IReadOnlyList<double> values)
    {
        WriteTag(field, WireType.LengthDelimited);
        WriteVarint((ulong)values.Count * sizeof(double));
        foreach (var value in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(sizeof(double)), value);
            _buffer.Advance(sizeof(double));
        }
    }

    private void WriteBytes(int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(field, WireType.LengthDelimited);
        WriteVarint((ulong)bytes.Length);
        _buffer.Write(bytes);
    }

    private void WriteTag(int field, WireType wireType) => WriteVarint(((ulong)field << 3) | (ulong)wireType);

    private void WriteVarint(ulong value)
    {
        var span = _buffer.GetSpan(10);
        var length = 0;
        while (value >= 0x80)
        {
            span[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[length++] = (byte)value;
        _buffer.Advance(length);
    }
}
