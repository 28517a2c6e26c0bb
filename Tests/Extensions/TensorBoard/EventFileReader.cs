using System.Buffers.Binary;
using System.Text;
using TrainManager.Extensions.TensorBoard;

namespace TrainManager.Tests.Extensions.TensorBoard;

/// <summary>An independent reader of TFRecord event files: checks both CRCs of every record and decodes the protobuf.</summary>
internal static class EventFileReader
{
    public static IReadOnlyList<DecodedEvent> ReadAll(string path)
    {
        // FileShare.ReadWrite: the writer may still hold the file open.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return ReadRecords(memory.ToArray()).Select(DecodeEvent).ToList();
    }

    public static IEnumerable<byte[]> ReadRecords(byte[] file)
    {
        var offset = 0;
        while (offset < file.Length)
        {
            if (file.Length - offset < 12)
                throw new InvalidDataException($"Truncated record header at offset {offset}.");
            var header = file.AsSpan(offset, 8);
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header));
            var lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8, 4));
            if (lengthCrc != MaskedCrc(header))
                throw new InvalidDataException($"Length CRC mismatch at offset {offset}.");

            var data = file.AsSpan(offset + 12, length).ToArray();
            var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 12 + length, 4));
            if (dataCrc != MaskedCrc(data))
                throw new InvalidDataException($"Data CRC mismatch at offset {offset}.");

            yield return data;
            offset += 12 + length + 4;
        }
    }

    // Spelled out here rather than calling Crc32C.Mask, so a wrong mask in the writer cannot hide behind the same code.
    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C.Compute(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private static DecodedEvent DecodeEvent(byte[] record)
    {
        var decoded = new DecodedEvent();
        foreach (var field in ProtoField.Parse(record))
        {
            switch (field.Number)
            {
                case 1: decoded.WallTime = field.AsDouble(); break;
                case 2: decoded.Step = (long)field.Varint; break;
                case 3: decoded.FileVersion = field.AsString(); break;
                case 5:
                    foreach (var value in ProtoField.Parse(field.Bytes).Where(f => f.Number == 1))
                        decoded.Values.Add(DecodeValue(value.Bytes));
                    break;
                default: throw new InvalidDataException($"Unexpected Event field {field.Number}.");
            }
        }

        return decoded;
    }

    private static DecodedValue DecodeValue(byte[] bytes)
    {
        var value = new DecodedValue();
        foreach (var field in ProtoField.Parse(bytes))
        {
            switch (field.Number)
            {
                case 1: value.Tag = field.AsString(); break;
                case 2: value.SimpleValue = field.AsFloat(); break;
                case 5: value.Histogram = DecodeHistogram(field.Bytes); break;
                default: throw new InvalidDataException($"Unexpected Summary.Value field {field.Number}.");
            }
        }

        return value;
    }

    private static DecodedHistogram DecodeHistogram(byte[] bytes)
    {
        var histogram = new DecodedHistogram();
        foreach (var field in ProtoField.Parse(bytes))
        {
            switch (field.Number)
            {
                case 1: histogram.Min = field.AsDouble(); break;
                case 2: histogram.Max = field.AsDouble(); break;
                case 3: histogram.Num = field.AsDouble(); break;
                case 4: histogram.Sum = field.AsDouble(); break;
                case 5: histogram.SumSquares = field.AsDouble(); break;
                case 6: histogram.BucketLimits.AddRange(field.AsPackedDoubles()); break;
                case 7: histogram.Buckets.AddRange(field.AsPackedDoubles()); break;
                default: throw new InvalidDataException($"Unexpected HistogramProto field {field.Number}.");
            }
        }

        return histogram;
    }
}

internal sealed class DecodedEvent
{
    public double WallTime { get; set; }
    public long Step { get; set; }
    public string? FileVersion { get; set; }
    public List<DecodedValue> Values { get; } = [];
}

internal sealed class DecodedValue
{
    public string Tag { get; set; } = "";
    public float? SimpleValue { get; set; }
    public DecodedHistogram? Histogram { get; set; }
}

internal sealed class DecodedHistogram
{
    public double Min { get; set; }
    public double Max { get; set; }
    public double Num { get; set; }
    public double Sum { get; set; }
    public double SumSquares { get; set; }
    public List<double> BucketLimits { get; } = [];
    public List<double> Buckets { get; } = [];
}

/// <summary>One protobuf field: number, wire type and its raw payload.</summary>
internal sealed record ProtoField(int Number, int WireType, ulong Varint, byte[] Bytes)
{
    public static List<ProtoField> Parse(byte[] message)
    {
        var fields = new List<ProtoField>();
        var offset = 0;
        while (offset < message.Length)
        {
            var tag = ReadVarint(message, ref offset);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    fields.Add(new ProtoField(number, wireType, ReadVarint(message, ref offset), []));
                    break;
                case 1:
                    fields.Add(new ProtoField(number, wireType, 0, message[offset..(offset + 8)]));
                    offset += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref offset);
                    fields.Add(new ProtoField(number, wireType, 0, message[offset..(offset + length)]));
                    offset += length;
                    break;
                case 5:
                    fields.Add(new ProtoField(number, wireType, 0, message[offset..(offset + 4)]));
                    offset += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported wire type {wireType} for field {number}.");
            }
        }

        return fields;
    }

    public double AsDouble() => Expect(1, BinaryPrimitives.ReadDoubleLittleEndian(Bytes));
    public float AsFloat() => Expect(5, BinaryPrimitives.ReadSingleLittleEndian(Bytes));
    public string AsString() => Expect(2, Encoding.UTF8.GetString(Bytes));

    public IEnumerable<double> AsPackedDoubles() =>
        Expect(2, Enumerable.Range(0, Bytes.Length / 8)
            .Select(i => BinaryPrimitives.ReadDoubleLittleEndian(Bytes.AsSpan(i * 8, 8))).ToList());

    private T Expect<T>(int wireType, T value) =>
        WireType == wireType ? value : throw new InvalidDataException($"Field {Number} has wire type {WireType}, expected {wireType}.");

    private static ulong ReadVarint(byte[] message, ref int offset)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[offset++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return result;
        }
    }
}
