using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;

namespace TrainManager.Data.Sources.Npy;

/// <summary>The element types read from NumPy files, by their <c>descr</c>.</summary>
public enum NpyType { Float32, Float64, Int64, Int32, UInt8 }

/// <summary>
/// A C-ordered NumPy array (format versions 1 to 3) whose rows (its first dimension) are read on demand: from a
/// <c>.npy</c> file at their offsets, so a file larger than memory works, or from the bytes of an <c>.npz</c> entry.
/// Safe to read from several threads.
/// </summary>
public sealed partial class NpyArray : IDisposable
{
    /// <summary>What the error messages list as accepted.</summary>
    public const string Accepted = "float32 (<f4), float64 (<f8), int64 (<i8), int32 (<i4) or uint8 (|u1), little-endian, C order";

    static readonly Dictionary<string, (NpyType Type, int Size)> Types = new()
    {
        ["<f4"] = (NpyType.Float32, 4), ["<f8"] = (NpyType.Float64, 8), ["<i8"] = (NpyType.Int64, 8), ["<i4"] = (NpyType.Int32, 4),
        ["|u1"] = (NpyType.UInt8, 1), ["<u1"] = (NpyType.UInt8, 1),
    };

    readonly SafeFileHandle? _file;
    readonly byte[]? _bytes;
    readonly long _dataOffset;

    NpyArray(string source, NpyType type, int elementSize, long[] shape, long dataOffset, SafeFileHandle? file, byte[]? bytes)
    {
        (Source, Type, ElementSize, Shape, _dataOffset, _file, _bytes) = (source, type, elementSize, shape, dataOffset, file, bytes);
    }

    /// <summary>Names the array in messages: the file, or <c>archive.npz:name</c>.</summary>
    public string Source { get; }
    public NpyType Type { get; }
    public int ElementSize { get; }
    public long[] Shape { get; }
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];
    /// <summary>The shape of one row (the dimensions after the first).</summary>
    public long[] RowShape => Shape.Length == 0 ? [] : Shape[1..];
    public long RowElements => RowShape.Aggregate(1L, (a, d) => a * d);
    public long RowBytes => RowElements * ElementSize;
    public bool IsInteger => Type is NpyType.Int64 or NpyType.Int32 or NpyType.UInt8;

    /// <summary>Opens a <c>.npy</c> file and reads its header; the data stays on disk.</summary>
    public static NpyArray Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            var head = new byte[Math.Min(RandomAccess.GetLength(handle), 1 << 16)];
            var read = RandomAccess.Read(handle, head, 0);
            var (type, size, shape, offset) = ParseHeader(head.AsSpan(0, read), path);
            CheckLength(path, RandomAccess.GetLength(handle), offset, shape, size);
            return new NpyArray(path, type, size, shape, offset, handle, null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>An array held in memory (an <c>.npz</c> entry), named <paramref name="source"/> in messages.</summary>
    public static NpyArray FromBytes(byte[] bytes, string source)
    {
        var (type, size, shape, offset) = ParseHeader(bytes, source);
        CheckLength(source, bytes.LongLength, offset, shape, size);
        return new NpyArray(source, type, size, shape, offset, null, bytes);
    }

    static void CheckLength(string source, long length, long offset, long[] shape, int size)
    {
        var expected = offset + shape.Aggregate(1L, (a, d) => a * d) * size;
        if (length < expected)
            throw new DatasetInvalidException($"{source} is truncated: its header declares shape ({string.Join(", ", shape)}), which needs {expected} bytes, but it has {length}.");
    }

    static (NpyType Type, int Size, long[] Shape, long DataOffset) ParseHeader(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || !bytes[1..6].SequenceEqual("NUMPY"u8))
            throw new DatasetInvalidException($"{source} is not a NumPy .npy array (it does not start with the \\x93NUMPY signature); write it with numpy.save.");
        var major = bytes[6];
        int headerLength, start;
        switch (major)
        {
            case 1: headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]); start = 10; break;
            case 2 or 3 when bytes.Length >= 12: headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]); start = 12; break;
            default: throw new DatasetInvalidException($"{source} is .npy format version {major}; versions 1 to 3 are read.");
        }
        if (bytes.Length < start + headerLength)
            throw new DatasetInvalidException($"{source} is truncated inside its header.");
        var header = Encoding.UTF8.GetString(bytes.Slice(start, headerLength));
        var descr = Descr().Match(header);
        var fortran = Fortran().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new DatasetInvalidException($"{source} has a header NumPy does not write: {header.Trim()}");
        if (!Types.TryGetValue(descr.Groups[1].Value, out var type))
            throw new DatasetInvalidException($"{source} holds dtype '{descr.Groups[1].Value}'; accepted: {Accepted}. Convert it, e.g. a.astype(np.float32).");
        if (fortran.Groups[1].Value == "True")
            throw new DatasetInvalidException($"{source} is stored in Fortran order; accepted: {Accepted}. Save np.ascontiguousarray(a) instead.");
        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.Parse(d.TrimEnd('L'), CultureInfo.InvariantCulture)).ToArray();
        return (type.Type, type.Size, shape, start + headerLength);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex Fortran();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    /// <summary>Reads the rows <paramref name="indices"/>, in that order, into <paramref name="into"/> (RowBytes each).</summary>
    public void ReadRows(long[] indices, Span<byte> into)
    {
        var rowBytes = (int)RowBytes;
        for (var i = 0; i < indices.Length; i++)
        {
            var row = indices[i];
            if (row < 0 || row >= Rows)
                throw new ArgumentOutOfRangeException(nameof(indices), row, $"{Source} has {Rows} rows (indices 0..{Rows - 1}).");
            var target = into.Slice(i * rowBytes, rowBytes);
            var offset = _dataOffset + row * rowBytes;
            if (_bytes is not null) _bytes.AsSpan((int)offset, rowBytes).CopyTo(target);
            else if (RandomAccess.Read(_file!, target, offset) != rowBytes)
                throw new DatasetInvalidException($"{Source} became shorter during the run (row {row} is cut off); restore the file.");
        }
    }

    /// <summary>The rows as float32 values, <c>(value − mean) / std</c>, into <paramref name="into"/> (a batch tensor's memory).</summary>
    public void ReadNormalized(long[] indices, Span<float> into, float mean, float std)
    {
        var scale = 1 / std;
        if (Type == NpyType.Float32)
        {
            ReadRows(indices, MemoryMarshal.AsBytes(into));
            if (mean != 0 || std != 1)
                for (var i = 0; i < into.Length; i++) into[i] = (into[i] - mean) * scale;
            return;
        }
        var length = (int)(indices.Length * RowBytes);
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var read = bytes.AsSpan(0, length);
            ReadRows(indices, read);
            switch (Type)
            {
                case NpyType.UInt8:
                {
                    // One table lookup a pixel: the conversion and the normalisation of all 256 values done once.
                    Span<float> table = stackalloc float[256];
                    for (var v = 0; v < 256; v++) table[v] = (v - mean) * scale;
                    for (var i = 0; i < read.Length; i++) into[i] = table[read[i]];
                    break;
                }
                case NpyType.Float64:
                    var doubles = MemoryMarshal.Cast<byte, double>(read);
                    for (var i = 0; i < doubles.Length; i++) into[i] = (float)((doubles[i] - mean) * scale);
                    break;
                case NpyType.Int64:
                    var longs = MemoryMarshal.Cast<byte, long>(read);
                    for (var i = 0; i < longs.Length; i++) into[i] = (longs[i] - mean) * scale;
                    break;
                case NpyType.Int32:
                    var ints = MemoryMarshal.Cast<byte, int>(read);
                    for (var i = 0; i < ints.Length; i++) into[i] = (ints[i] - mean) * scale;
                    break;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The rows as float32 values.</summary>
    public float[] ReadFloats(long[] indices)
    {
        var bytes = Read(indices);
        var result = new float[indices.Length * RowElements];
        switch (Type)
        {
            case NpyType.Float32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result); break;
            case NpyType.Float64: Convert(MemoryMarshal.Cast<byte, double>(bytes), result, v => (float)v); break;
            case NpyType.Int64: Convert(MemoryMarshal.Cast<byte, long>(bytes), result, v => v); break;
            case NpyType.Int32: Convert(MemoryMarshal.Cast<byte, int>(bytes), result, v => v); break;
            case NpyType.UInt8: for (var i = 0; i < bytes.Length; i++) result[i] = bytes[i]; break;
        }
        return result;
    }

    /// <summary>The rows as int64 values (integer arrays only).</summary>
    public long[] ReadLongs(long[] indices)
    {
        var bytes = Read(indices);
        var result = new long[indices.Length * RowElements];
        switch (Type)
        {
            case NpyType.Int64: MemoryMarshal.Cast<byte, long>(bytes).CopyTo(result); break;
            case NpyType.Int32: Convert(MemoryMarshal.Cast<byte, int>(bytes), result, v => v); break;
            case NpyType.UInt8: for (var i = 0; i < bytes.Length; i++) result[i] = bytes[i]; break;
            default: throw new InvalidOperationException($"{Source} holds floats, not integers.");
        }
        return result;
    }

    byte[] Read(long[] indices)
    {
        var bytes = new byte[indices.Length * RowBytes];
        ReadRows(indices, bytes);
        return bytes;
    }

    static void Convert<TFrom, TTo>(ReadOnlySpan<TFrom> from, Span<TTo> to, Func<TFrom, TTo> convert)
    {
        for (var i = 0; i < from.Length; i++) to[i] = convert(from[i]);
    }

    public void Dispose() => _file?.Dispose();
}
