using System.Buffers.Binary;
using System.IO.Compression;

namespace TrainManager.Data;

/// <summary>An unsigned-byte IDX array: its dimensions and its elements in row-major order.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    public long ElementCount => Dimensions.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// Reads the IDX format of the MNIST family (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
/// (0, 0, element type, number of dimensions), the dimensions as big-endian int32s, then the data.
/// Gzip-compressed files are recognised by their content, not their name.
/// </summary>
public static class IdxFile
{
    const byte UnsignedByte = 0x08;

    public static IdxArray Read(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> signature = stackalloc byte[2];
        int read = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = read == 2 && signature[0] == 0x1f && signature[1] == 0x8b;
        using Stream content = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Read(content, path);
        }
        catch (InvalidDataException e) when (gzip && !e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: the gzip stream is corrupt ({e.Message}). Delete the file and fetch it again.", e);
        }
    }

    /// <param name="source">Names the data in error messages.</param>
    public static IdxArray Read(Stream stream, string source)
    {
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, source, "header");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{source} is not an IDX file (magic {header[0]:x2}{header[1]:x2}{header[2]:x2}{header[3]:x2}).");
        if (header[2] != UnsignedByte)
            throw new InvalidDataException($"{source} holds IDX element type 0x{header[2]:x2}; only unsigned bytes (0x08, as in MNIST) are supported.");
        int rank = header[3];
        if (rank is 0 or > 8)
            throw new InvalidDataException($"{source} declares {rank} dimensions; expected 1 to 8.");

        var dimensionBytes = new byte[rank * 4];
        ReadExactly(stream, dimensionBytes, source, "dimensions");
        var dimensions = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(dimensionBytes.AsSpan(i * 4));
            if (dimensions[i] < 0)
                throw new InvalidDataException($"{source}: dimension {i} is negative ({dimensions[i]}).");
            count *= dimensions[i];
        }
        if (count > Array.MaxLength)
            throw new InvalidDataException($"{source} declares {count} elements, more than one array can hold.");

        var data = new byte[count];
        ReadExactly(stream, data, source, "data");
        if (stream.ReadByte() != -1)
            throw new InvalidDataException($"{source} has bytes after the {count} elements its header declares; it is not a valid IDX file.");
        return new IdxArray(dimensions, data);
    }

    static void ReadExactly(Stream stream, Span<byte> buffer, string source, string part)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new InvalidDataException($"{source} is truncated: its {part} needs {buffer.Length} bytes but only {read} remain. Delete it and fetch it again.");
    }
}
