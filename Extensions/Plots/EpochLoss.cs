namespace TrainManager.Extensions.Plots;

/// <summary>One epoch's losses and accuracy (a fraction in [0, 1]) on the split evaluated each epoch (<c>validation</c>
/// or <c>test</c>); NaN where the epoch did not measure it (a task without accuracy has none).</summary>
public readonly record struct EpochLoss(int Epoch, double TrainLoss, double TestLoss, double TestAccuracy, string Split = "test")
{
    /// <summary>Reads the trainer's <c>metrics</c> fixture: <c>train_loss</c>, and <c>val_loss</c>/<c>val_accuracy</c>
    /// when the run has a validation split, <c>test_loss</c>/<c>test_accuracy</c> otherwise.</summary>
    public static EpochLoss From(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        var prefix = metrics.ContainsKey("val_loss") ? "val" : "test";
        return new(epoch,
            metrics.GetValueOrDefault("train_loss", double.NaN),
            metrics.GetValueOrDefault($"{prefix}_loss", double.NaN),
            metrics.GetValueOrDefault($"{prefix}_accuracy", double.NaN),
            prefix == "val" ? "validation" : "test");
    }
}
