using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace TrainManager.Extensions.Plots;

/// <summary>Draws the gradient pictures: norms over steps on a log axis, and value histograms at one step.</summary>
public static class GradientCharts
{
    /// <summary>Histogram panels beyond this many make a picture no one reads; the rest are named in the first title.</summary>
    public const int MaxHistogramPanels = 30;

    public static void DrawNorms(string path, GradientNormSnapshot norms, int every, double vanishThreshold, double explodeThreshold)
    {
        using var plot = new Plot();
        var thresholds = $"explode: norm > {ChartStyle.Compact(explodeThreshold)}" +
            (vanishThreshold > 0 ? $", vanish: max |g| < {ChartStyle.Compact(vanishThreshold)}" : "");
        ChartStyle.Apply(plot, $"Gradient L2 norm per parameter, every {every} steps ({thresholds})", "step (batches)", "gradient L2 norm (log scale)");
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = exponent => $"1e{exponent.ToString("0", CultureInfo.InvariantCulture)}",
        };

        // One colour per layer, the line pattern tells weight from bias: a layer's two lines read as a pair.
        var layers = norms.Lines.Select(l => Layer(l.Name)).Distinct().ToList();
        foreach (var line in norms.Lines)
        {
            var scatter = plot.Add.ScatterLine(line.Steps, line.Log10Norms, ChartStyle.Palette.GetColor(layers.IndexOf(Layer(line.Name))));
            scatter.LineWidth = 2;
            scatter.LinePattern = line.Name.EndsWith("bias", StringComparison.Ordinal) ? LinePattern.Dashed : LinePattern.Solid;
            scatter.LegendText = line.Name;
        }

        AddThresholds(plot, norms, vanishThreshold, explodeThreshold);
        for (var i = 0; i < norms.NonFiniteSteps.Count; i++)
        {
            var marker = plot.Add.VerticalLine(norms.NonFiniteSteps[i], 1, ChartStyle.Warning.WithAlpha(0.6));
            if (i == 0) marker.LegendText = "non-finite gradients";
        }

        // Outside the data area, where a long list of parameter names fits.
        plot.ShowLegend(Edge.Right);
        PngFile.Save(plot, path, 1400, 650);
    }

    /// <summary>
    /// Threshold lines are drawn where they are near the data (within two decades): a line eight decades away would
    /// squeeze every parameter's line into a sliver of the picture. The title names the thresholds either way.
    /// </summary>
    private static void AddThresholds(Plot plot, GradientNormSnapshot norms, double vanishThreshold, double explodeThreshold)
    {
        var values = norms.Lines.SelectMany(l => l.Log10Norms).ToArray();
        if (values.Length == 0) return;
        var (low, high) = (values.Min() - 1, values.Max() + 1);
        var explode = Math.Log10(explodeThreshold);
        if (explode <= high + 2)
        {
            plot.Add.HorizontalLine(explode, 1.5f, ChartStyle.Warning, LinePattern.Dotted).LegendText = "explode threshold (norm)";
            high = Math.Max(high, explode + 0.3);
        }
        if (vanishThreshold > 0 && Math.Log10(vanishThreshold) >= low - 2)
        {
            // The vanish test is on max |g|, which is at most the norm: a norm below this line has certainly vanished.
            var vanish = Math.Log10(vanishThreshold);
            plot.Add.HorizontalLine(vanish, 1.5f, Colors.Gray, LinePattern.Dotted).LegendText = "vanish threshold (max |g|)";
            low = Math.Min(low, vanish - 0.3);
        }
        plot.Axes.SetLimitsY(Math.Floor(low), Math.Ceiling(high));
    }

    public static void DrawHistograms(string path, long step, IReadOnlyList<GradientHistogram> histograms)
    {
        var shown = histograms.Take(MaxHistogramPanels).ToList();
        if (shown.Count == 0) return;
        var columns = Math.Min(3, shown.Count);
        var rows = (shown.Count + columns - 1) / columns;
        var figure = new Multiplot();
        figure.AddPlots(shown.Count);   // the total number of panels, not how many to add
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        for (var i = 0; i < shown.Count; i++)
        {
            var h = shown[i];
            var plot = figure.GetPlot(i);
            var title = $"{h.Name} at step {step}";
            if (h.NonFinite > 0) title += $" (+{h.NonFinite:N0} non-finite)";
            if (i == 0 && histograms.Count > shown.Count) title += $" [{histograms.Count - shown.Count} more not drawn]";
            ChartStyle.Apply(plot, title, "gradient value", "count");
            plot.Axes.Left.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
            plot.Axes.Title.Label.FontSize = 14;
            if (h.Counts.Count == 0)
            {
                plot.Add.Annotation("every value is NaN or infinite", Alignment.MiddleCenter);
                continue;
            }
            plot.Add.Bars(Bars(h));
            plot.Axes.Margins(bottom: 0);
            if (h.BinWidth <= 0)
            {
                // Autoscaling would stretch the sliver over the whole panel; a fixed window shows it as the spike it
                // is. Set after the margins, which autoscale.
                var half = Math.Max(Math.Abs(h.Min), 1e-3);
                plot.Axes.SetLimitsX(h.Min - half, h.Min + half);
            }
        }
        PngFile.Save(figure, path, 1400, 330 * rows);
    }

    private static List<Bar> Bars(GradientHistogram h)
    {
        // A constant gradient (all zeros, say) has no width: one sliver at its value says "everything is here".
        if (h.BinWidth <= 0)
            return [new Bar { Position = h.Min, Value = h.Counts.Sum(), Size = Math.Max(Math.Abs(h.Min), 1e-3) / 25, FillColor = ChartStyle.Train, LineWidth = 0 }];
        return h.Counts.Select((count, b) => new Bar
        {
            Position = h.Min + (b + 0.5) * h.BinWidth,
            Value = count,
            Size = h.BinWidth,
            FillColor = ChartStyle.Train,
            LineWidth = 0,
        }).ToList();
    }

    /// <summary>The module a parameter belongs to: <c>layers.fc1.weight</c> → <c>layers.fc1</c>.</summary>
    private static string Layer(string parameter)
    {
        var dot = parameter.LastIndexOf('.');
        return dot < 0 ? parameter : parameter[..dot];
    }
}
