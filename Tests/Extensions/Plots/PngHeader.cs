using System.Buffers.Binary;

namespace TrainManager.Tests.Extensions.Plots;

/// <summary>Reads the size of a PNG file from its header, after checking that the file is a PNG at all.</summary>
internal static class PngHeader
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static (int Width, int Height) ReadSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path} has {bytes.Length} bytes, too few for a PNG");
        Assert.True(bytes.AsSpan(0, 8).SequenceEqual(Signature), $"{path} does not start with the PNG signature");
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    /// <summary>Asserts that <paramref name="path"/> is a PNG at least <paramref name="minWidth"/> × <paramref name="minHeight"/>.</summary>
    public static void AssertReadable(string path, int minWidth = 800, int minHeight = 400)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var (width, height) = ReadSize(path);
        Assert.True(width >= minWidth && height >= minHeight, $"{Path.GetFileName(path)} is {width}×{height}, smaller than {minWidth}×{minHeight}");
        Assert.True(new FileInfo(path).Length > 10_000, $"{Path.GetFileName(path)} has only {new FileInfo(path).Length} bytes: nothing was drawn");
    }
}
