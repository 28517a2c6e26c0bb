namespace TrainManager.Extensions.Plots;

/// <summary>One epoch's losses and test accuracy (a fraction in [0, 1]); NaN where the epoch did not measure it.</summary>
public readonly record struct EpochLoss(int Epoch, double TrainLoss, double TestLoss, double TestAccuracy)
{
    /// <summary>Reads the trainer's <c>metrics</c> fixture (<c>train_loss</c>, <c>test_loss</c>, <c>test_accuracy</c>).</summary>
    public static EpochLoss From(int epoch, IReadOnlyDictionary<string, double> metrics) => new(epoch,
        metrics.GetValueOrDefault("train_loss", double.NaN),
        metrics.GetValueOrDefault("test_loss", double.NaN),
        metrics.GetValueOrDefault("test_accuracy", double.NaN));
}
