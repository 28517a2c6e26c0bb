using ScottPlot;
using ScottPlot.TickGenerators;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Draws the three loss pictures from plain numbers: across batches, across epochs and across samples. No state;
/// the caller decides when and where.
/// </summary>
public static class LossCharts
{
    public const int Width = 1200;
    public const int Height = 600;

    /// <summary>Vertical epoch markers help up to this many epochs; beyond it they are a grey wall.</summary>
    private const int MaxEpochMarkers = 60;

    /// <summary>The per-batch loss and a smoothed line over it. <paramref name="pointsPerBucket"/> says how many
    /// batches each point stands for (see <see cref="CompactingSeries"/>).</summary>
    public static void DrawBatches(string path, double[] steps, double[] losses, int pointsPerBucket,
        IReadOnlyList<long> epochStartSteps, long nonFiniteBatches, string lossLabel)
    {
        using var plot = new Plot();
        var batches = steps.Length * (long)pointsPerBucket;
        var title = $"Training loss per batch ({batches:N0} batches)";
        if (nonFiniteBatches > 0) title += $", {nonFiniteBatches:N0} non-finite left out";
        ChartStyle.Apply(plot, title, "step (batches)", lossLabel);

        if (epochStartSteps.Count <= MaxEpochMarkers)
            for (var i = 0; i < epochStartSteps.Count; i++)
            {
                var marker = plot.Add.VerticalLine(epochStartSteps[i], 1, Colors.Gray.WithAlpha(0.5), LinePattern.Dotted);
                if (i == 0) marker.LegendText = "epoch start";
            }

        var raw = plot.Add.ScatterLine(steps, losses, ChartStyle.Train.WithAlpha(0.35));
        raw.LineWidth = 1;
        raw.LegendText = pointsPerBucket == 1 ? "per-batch loss" : $"per-batch loss (mean of each {pointsPerBucket} batches)";

        var (smoothed, span) = Smoothing.ExponentialMovingAverage(losses);
        var line = plot.Add.ScatterLine(steps, smoothed, ChartStyle.Train);
        line.LineWidth = 2.5f;
        line.LegendText = $"smoothed (EMA over ≈{span * pointsPerBucket:N0} batches)";

        plot.ShowLegend(Alignment.UpperRight);
        PngFile.Save(plot, path, Width, Height);
    }

    /// <summary>Train and evaluation loss per epoch on the left axis, accuracy in percent on the right (when the task
    /// reports it); the evaluation is the validation split's when the run has one, the test split's otherwise.</summary>
    public static void DrawEpochs(string path, IReadOnlyList<EpochLoss> epochs, string lossLabel)
    {
        using var plot = new Plot();
        var split = epochs.Count > 0 ? epochs[^1].Split : "test";
        ChartStyle.Apply(plot, $"Loss and {split} accuracy per epoch", "epoch", lossLabel);
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };

        AddEpochLine(plot, epochs, e => e.TrainLoss, "train loss (mean over the epoch)", ChartStyle.Train, MarkerShape.FilledCircle);
        AddEpochLine(plot, epochs, e => e.TestLoss, $"{split} loss", ChartStyle.Test, MarkerShape.FilledSquare);
        var accuracy = AddEpochLine(plot, epochs, e => e.TestAccuracy * 100, $"{split} accuracy (right axis)", ChartStyle.Accuracy, MarkerShape.FilledDiamond);
        if (accuracy is not null)
        {
            accuracy.LinePattern = LinePattern.Dashed;
            accuracy.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = $"{split} accuracy (%)";
            plot.Axes.Right.Label.FontSize = 15;
        }

        // Outside the data area: losses fall and accuracy rises, so any corner inside would cover a line.
        plot.ShowLegend(Edge.Bottom);
        PngFile.Save(plot, path, Width, Height);
    }

    /// <summary>Two panels: the spread of per-sample losses per epoch, and the worst samples with their indices.</summary>
    public static void DrawSamples(string path, IReadOnlyList<LossDistribution> distributions, IReadOnlyList<SampleLoss> worst, string lossLabel)
    {
        var figure = new Multiplot();
        figure.AddPlots(2);   // the total number of panels, not how many to add
        figure.Layout = new ScottPlot.MultiplotLayouts.Rows();
        using var spread = figure.GetPlot(0);
        using var highest = figure.GetPlot(1);

        ChartStyle.Apply(spread, "Per-sample training loss by epoch", "epoch", lossLabel);
        spread.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        var boxes = spread.Add.Boxes(distributions.Select(d => new Box
        {
            Position = d.Epoch, BoxMin = d.P25, BoxMax = d.P75, BoxMiddle = d.Median,
            WhiskerMin = d.P5, WhiskerMax = d.P95, Width = 0.6,
        }).ToList());
        boxes.FillColor = ChartStyle.Train.WithAlpha(0.3);
        boxes.LineColor = ChartStyle.Train;
        boxes.LegendText = "box: 25–75 %, line: median, whiskers: 5–95 %";
        var max = spread.Add.ScatterPoints(distributions.Select(d => (double)d.Epoch).ToArray(), distributions.Select(d => d.Max).ToArray(), ChartStyle.Warning);
        max.MarkerShape = MarkerShape.OpenCircle;
        max.MarkerSize = 8;
        max.LegendText = "maximum";
        // Below the panel: inside, a corner would hide the maximum of the first or the last epoch.
        spread.ShowLegend(Edge.Bottom);

        var epochNote = worst.Count > 0 ? $" of epoch {worst[0].Epoch}" : "";
        ChartStyle.Apply(highest, $"Worst {worst.Count} samples{epochNote} by loss", "training sample index", lossLabel);
        var positions = Enumerable.Range(0, worst.Count).Select(i => (double)i).ToArray();
        var bars = highest.Add.Bars(positions, worst.Select(w => w.Loss).ToArray());
        bars.Color = ChartStyle.Warning;
        highest.Axes.Bottom.SetTicks(positions, worst.Select(w => w.SampleIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        if (worst.Count > 12)
        {
            highest.Axes.Bottom.TickLabelStyle.Rotation = -45;
            highest.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        }
        highest.Axes.Margins(bottom: 0);

        PngFile.Save(figure, path, Width, Height * 3 / 2);
    }

    private static ScottPlot.Plottables.Scatter? AddEpochLine(Plot plot, IReadOnlyList<EpochLoss> epochs, Func<EpochLoss, double> value,
        string legend, Color color, MarkerShape marker)
    {
        var points = epochs.Where(e => double.IsFinite(value(e))).ToArray();
        if (points.Length == 0) return null;
        var line = plot.Add.Scatter(points.Select(e => (double)e.Epoch).ToArray(), points.Select(value).ToArray(), color);
        line.LineWidth = 2;
        line.MarkerShape = marker;
        line.MarkerSize = 8;
        line.LegendText = legend;
        return line;
    }
}
