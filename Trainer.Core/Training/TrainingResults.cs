namespace TrainManager.Training;

/// <summary>What <see cref="Trainer.Fit"/> returns: the final metrics and the per-epoch history.</summary>
/// <param name="Epochs">How many epochs are done (the next epoch's number is one more).</param>
/// <param name="Metrics">The final values: <c>train_loss</c>, the last epoch's evaluation (<c>val_*</c>, or
/// <c>test_*</c> without a validation split) and, after a fit with a validation split that ran to its end, the test
/// split's (<c>test_*</c>). NaN where a value was not measured.</param>
public sealed record FitResult(
    int Epochs,
    IReadOnlyDictionary<string, double> Metrics,
    TimeSpan Elapsed,
    IReadOnlyList<IReadOnlyDictionary<string, double>> History,
    string? LastCheckpoint,
    string? StopReason)
{
    /// <summary>The run's best checkpoint by <see cref="BestMetric"/>, when one was written.</summary>
    public string? BestCheckpoint { get; init; }

    /// <summary>The epoch metric the best checkpoint follows, e.g. <c>val_accuracy</c>.</summary>
    public string? BestMetric { get; init; }

    /// <summary><c>max</c> or <c>min</c>.</summary>
    public string? BestMode { get; init; }

    public double TrainLoss => Metric("train_loss");

    /// <summary>The final value of <paramref name="key"/> (<c>test_accuracy</c>, <c>val_r2</c>); NaN when not measured.</summary>
    public double Metric(string key) => Metrics.GetValueOrDefault(key, double.NaN);
}

/// <summary>What <see cref="Trainer.Evaluate"/> returns: the mean loss and the task's metrics over one split, by metric
/// name (<c>accuracy</c>, <c>r2</c>), without a split prefix.</summary>
public sealed record EvalResult(double Loss, IReadOnlyDictionary<string, double> Metrics, long Samples)
{
    /// <summary>The value of <paramref name="metric"/>; NaN when the task does not report it.</summary>
    public double Metric(string metric) => Metrics.GetValueOrDefault(metric, double.NaN);
}
