using TrainManager.Components;
using TrainManager.Tasks.Metrics;
using static TorchSharp.torch;

namespace TrainManager.Tasks;

/// <summary>Regression: predictions are [batch, outputs] (or [batch]), targets the same shape, or [batch] against one
/// output; the loss is the mean squared error. Metrics: <c>mse</c>, <c>mae</c>, <c>r2</c>.</summary>
[Component("regression", Description = "mean squared error; mse, mae, r2")]
public sealed class RegressionTask : ITrainingTask
{
    /// <summary>The squared error averaged over each sample's outputs.</summary>
    public Tensor PerSampleLoss(Tensor prediction, Tensor targets)
    {
        var aligned = Aligned(prediction, targets);
        // x·x rather than square(): TorchSharp's square() makes a Scalar nothing keeps alive.
        using var difference = prediction.sub(aligned);
        var squared = difference.mul(difference);
        return squared.dim() > 1 ? squared.flatten(1).mean([1]) : squared;
    }

    public Tensor Loss(Tensor prediction, Tensor targets) => nn.functional.mse_loss(prediction, Aligned(prediction, targets));

    static Tensor Aligned(Tensor prediction, Tensor targets)
    {
        var t = targets.dtype == prediction.dtype ? targets : targets.to(prediction.dtype);
        return t.shape.SequenceEqual(prediction.shape) ? t : t.reshape(prediction.shape);
    }

    public IReadOnlyList<MetricDefinition> Metrics { get; } =
    [
        new("mse", () => new MeanSquaredError(), MetricGoal.Minimize),
        new("mae", () => new MeanAbsoluteError(), MetricGoal.Minimize),
        new("r2", () => new RSquared()),
    ];
}
