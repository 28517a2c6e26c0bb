namespace TrainManager.Extensions.Plots;

/// <summary>Settings of <see cref="LossPlotExtension"/>.</summary>
public sealed record LossPlotOptions
{
    /// <summary>Ask for a refresh every this many batches (0: only at epoch ends). Setting <c>refresh-every-batches</c>.</summary>
    public int RefreshEveryBatches { get; init; } = 200;

    /// <summary>How many highest-loss samples to draw and list in <c>worst-samples.csv</c>. Setting <c>worst</c>.</summary>
    public int Worst { get; init; } = 20;

    /// <summary>Pictures are redrawn at most this often, however often refreshes are asked for. Setting <c>min-render-seconds</c>.</summary>
    public TimeSpan MinRenderInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The loss axis label with its unit; the trainer's loss is cross-entropy in natural-log units. Setting <c>loss-label</c>.</summary>
    public string LossLabel { get; init; } = "cross-entropy loss (nats)";

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting when a value is out of range.</summary>
    public LossPlotOptions Validated()
    {
        if (RefreshEveryBatches < 0)
            throw new ArgumentException($"refresh-every-batches must be 0 (only at epoch ends) or more, but is {RefreshEveryBatches}.");
        if (Worst < 0)
            throw new ArgumentException($"worst must be 0 or more (how many highest-loss samples to list), but is {Worst}.");
        if (MinRenderInterval < TimeSpan.Zero)
            throw new ArgumentException($"min-render-seconds cannot be negative, but is {MinRenderInterval.TotalSeconds}.");
        if (string.IsNullOrWhiteSpace(LossLabel))
            throw new ArgumentException("loss-label cannot be empty; it names the loss axis, e.g. \"cross-entropy loss (nats)\".");
        return this;
    }
}
