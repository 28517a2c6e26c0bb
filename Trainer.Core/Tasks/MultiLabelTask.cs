using System.Text.RegularExpressions;
using TrainManager.Components;
using TrainManager.Tasks.Metrics;
using static TorchSharp.torch;

namespace TrainManager.Tasks;

/// <summary>Multi-label classification: predictions are [batch, labels] logits, targets [batch, labels] of 0 and 1; the
/// loss is binary cross-entropy on the logits. A label is predicted when its sigmoid reaches <paramref name="threshold"/>.
/// Metrics: <c>f1-macro</c>, <c>f1-&lt;label&gt;</c> (one label's F1, e.g. <c>f1-0</c>), <c>accuracy</c> (exact match:
/// every label of the sample right).</summary>
[Component("multi-label", Description = "binary cross-entropy per label; macro and per-label F1, exact-match accuracy")]
public sealed partial class MultiLabelTask : ITrainingTask
{
    readonly double _threshold;

    public MultiLabelTask(double threshold = 0.5)
    {
        if (threshold is <= 0 or >= 1 || double.IsNaN(threshold))
            throw new Experiments.ExperimentException(
                $"'task.threshold' must be between 0 and 1 (exclusive), but is {threshold}. Write e.g. threshold = 0.5.", keyPath: "task.threshold");
        _threshold = threshold;
        Metrics =
        [
            new("f1-macro", () => new MultiLabelF1(_threshold)),
            new("f1-0", () => new MultiLabelF1(_threshold, 0), Pattern: "f1-<label>"),
            new("accuracy", () => new ExactMatch(_threshold)),
        ];
    }

    public double Threshold => _threshold;

    /// <summary>The binary cross-entropy averaged over each sample's labels.</summary>
    public Tensor PerSampleLoss(Tensor prediction, Tensor targets) =>
        nn.functional.binary_cross_entropy_with_logits(prediction, Aligned(prediction, targets), reduction: nn.Reduction.None).mean([1]);

    public Tensor Loss(Tensor prediction, Tensor targets) =>
        nn.functional.binary_cross_entropy_with_logits(prediction, Aligned(prediction, targets));

    static Tensor Aligned(Tensor prediction, Tensor targets) => targets.dtype == prediction.dtype ? targets : targets.to(prediction.dtype);

    public IReadOnlyList<MetricDefinition> Metrics { get; }

    public MetricDefinition? FindMetric(string name)
    {
        if (LabelF1().Match(name) is { Success: true } one && int.TryParse(one.Groups[1].Value, out var label))
            return new MetricDefinition(name, () => new MultiLabelF1(_threshold, label));
        return Metrics.FirstOrDefault(m => m.Name == name);
    }

    [GeneratedRegex(@"^f1-(\d{1,5})$")]
    private static partial Regex LabelF1();
}
