using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using SkiaSharp;

namespace TrainManager.Tests.Data;

/// <summary>Writes the files the data-source tests read, each in its real format: NumPy's .npy as numpy.save writes it
/// (format 1.0, header padded with spaces to a multiple of 64 bytes and ended by a newline), .npz as numpy.savez (a zip
/// of .npy entries), and PNG and JPEG images encoded by SkiaSharp.</summary>
internal static class DataFiles
{
    public static byte[] Npy<T>(string descr, long[] shape, T[] values, bool fortran = false) where T : struct
    {
        var data = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {dims}, }}";
        var total = 10 + dict.Length + 1;
        var padded = (total + 63) / 64 * 64;
        var header = dict + new string(' ', padded - total) + "\n";
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
        return stream.ToArray();
    }

    public static void Npz(string path, CompressionLevel level, params (string Name, byte[] Npy)[] arrays)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, npy) in arrays)
        {
            using var entry = zip.CreateEntry(name + ".npy", level).Open();
            entry.Write(npy);
        }
    }

    /// <summary>A <paramref name="size"/>² image of one colour.</summary>
    public static void Image(string path, SKColor colour, int size = 8)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        bitmap.Erase(colour);
        using var image = SKImage.FromBitmap(bitmap);
        var format = Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var encoded = image.Encode(format, 95);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, encoded.ToArray());
    }

    public static void GzipText(string path, string text)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        gzip.Write(Encoding.UTF8.GetBytes(text));
    }
}
