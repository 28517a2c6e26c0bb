using ScottPlot;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// The look every picture of the run shares: one legible sans-serif font, sizes readable at 100 % zoom, and a
/// palette that stays distinguishable in print. ScottPlot's own font detection picks a serif face on a bare Linux
/// machine, so the font is chosen here from the faces that are actually installed.
/// </summary>
public static class ChartStyle
{
    private static readonly string[] PreferredFonts = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Open Sans"];
    private static readonly Lazy<string?> InstalledFont = new(() => PreferredFonts.FirstOrDefault(IsInstalled));

    public static IPalette Palette { get; } = new ScottPlot.Palettes.Category10();

    public static Color Train => Palette.GetColor(0);
    public static Color Test => Palette.GetColor(1);
    public static Color Accuracy => Palette.GetColor(2);
    public static Color Warning => Palette.GetColor(3);

    // A missing family resolves to a fallback face (or null), so the face's own family name tells.
    private static bool IsInstalled(string family) =>
        Fonts.GetTypeface(family, bold: false, italic: false)?.FamilyName == family;

    /// <summary>Applies the shared look and the labels; every picture has a title and labelled axes.</summary>
    public static Plot Apply(Plot plot, string title, string xLabel, string yLabel)
    {
        if (InstalledFont.Value is { } font) plot.Font.Set(font);
        plot.Title(title, 18);
        plot.XLabel(xLabel, 15);
        plot.YLabel(yLabel, 15);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.Right.TickLabelStyle.FontSize = 13;
        plot.Legend.FontSize = 13;
        return plot;
    }

    /// <summary>Number labels that stay short whatever the magnitude (0.0012 → 1.2e-3, 2.5 → 2.5).</summary>
    public static string Compact(double value) =>
        value == 0 || (Math.Abs(value) >= 1e-2 && Math.Abs(value) < 1e5)
            ? value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)
            : value.ToString("0.#e0", System.Globalization.CultureInfo.InvariantCulture);
}
