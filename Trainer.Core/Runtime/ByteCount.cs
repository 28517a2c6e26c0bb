using System.Globalization;

namespace TrainManager.Runtime;

/// <summary>How messages write a number of bytes: in the largest binary unit it reaches, one decimal
/// (<c>512 bytes</c>, <c>28.0 KiB</c>, <c>20.0 MiB</c>, <c>1.5 GiB</c>).</summary>
public static class ByteCount
{
    public static string Text(long bytes)
    {
        var size = Math.Abs(bytes);
        return size switch
        {
            >= 1L << 30 => Scaled(bytes, 1L << 30, "GiB"),
            >= 1L << 20 => Scaled(bytes, 1L << 20, "MiB"),
            >= 1L << 10 => Scaled(bytes, 1L << 10, "KiB"),
            1 => "1 byte",
            _ => $"{bytes.ToString(CultureInfo.InvariantCulture)} bytes",
        };
    }

    static string Scaled(long bytes, long unit, string name) => ((double)bytes / unit).ToString("0.0", CultureInfo.InvariantCulture) + " " + name;
}
