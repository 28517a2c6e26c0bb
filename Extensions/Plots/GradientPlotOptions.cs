namespace TrainManager.Extensions.Plots;

/// <summary>Settings of <see cref="GradientPlotExtension"/>.</summary>
public sealed record GradientPlotOptions
{
    /// <summary>Measure gradient norms at every step that is a multiple of this. Setting <c>every</c>.</summary>
    public int Every { get; init; } = 10;

    /// <summary>A parameter whose every |g| is below this has vanishing gradients (0 turns the check off). Setting <c>vanish-threshold</c>.</summary>
    public double VanishThreshold { get; init; } = 1e-7;

    /// <summary>A parameter whose gradient L2 norm is above this (or not finite) has exploding gradients. Setting <c>explode-threshold</c>.</summary>
    public double ExplodeThreshold { get; init; } = 1e3;

    /// <summary>Also draw histograms at every step that is a multiple of this; 0: only at the first and the last step.
    /// Setting <c>histogram-every</c>.</summary>
    public int HistogramEvery { get; init; }

    /// <summary>Steps at which to draw histograms besides the first and the last. Setting <c>histogram-steps</c>.</summary>
    public IReadOnlyList<long> HistogramSteps { get; init; } = [];

    /// <summary>Bins per histogram. Setting <c>histogram-bins</c>.</summary>
    public int HistogramBins { get; init; } = 60;

    /// <summary>The norms picture is redrawn at most this often. Setting <c>min-render-seconds</c>.</summary>
    public TimeSpan MinRenderInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting when a value is out of range.</summary>
    public GradientPlotOptions Validated()
    {
        if (Every < 1) throw new ArgumentException($"every must be 1 or more (steps between measurements), but is {Every}.");
        if (HistogramEvery < 0) throw new ArgumentException($"histogram-every must be 0 (first and last step only) or more, but is {HistogramEvery}.");
        if (HistogramSteps.Any(s => s < 0)) throw new ArgumentException($"histogram-steps must be steps (0 or more), but holds {HistogramSteps.First(s => s < 0)}.");
        if (HistogramBins is < 2 or > 1000) throw new ArgumentException($"histogram-bins must be between 2 and 1000, but is {HistogramBins}.");
        if (MinRenderInterval < TimeSpan.Zero) throw new ArgumentException($"min-render-seconds cannot be negative, but is {MinRenderInterval.TotalSeconds}.");
        return this;
    }
}
