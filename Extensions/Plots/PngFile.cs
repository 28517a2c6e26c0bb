using ScottPlot;
using TrainManager.Runtime;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Writes pictures whole: a PNG is rendered in memory and replaces the old file in one rename, so a person (or the
/// report) looking at <c>plots/</c> while training runs never sees half a picture.
/// </summary>
public static class PngFile
{
    public static void Save(Plot plot, string path, int width, int height) =>
        AtomicFile.Write(path, plot.GetImageBytes(width, height, ImageFormat.Png));

    public static void Save(Multiplot multiplot, string path, int width, int height)
    {
        using var image = multiplot.Render(width, height);
        AtomicFile.Write(path, image.GetImageBytes(ImageFormat.Png));
    }
}
