namespace TrainManager.Training;

/// <summary>What <see cref="Trainer.Fit"/> returns: the final metrics and the per-epoch history.</summary>
public sealed record FitResult(
    int Epochs,
    double TrainLoss,
    double TestLoss,
    double TestAccuracy,
    TimeSpan Elapsed,
    IReadOnlyList<IReadOnlyDictionary<string, double>> History,
    string? LastCheckpoint,
    string? StopReason);

/// <summary>What <see cref="Trainer.Evaluate"/> returns.</summary>
public sealed record EvalResult(double Loss, double Accuracy, long Samples);
