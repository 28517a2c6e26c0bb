using System.Text.RegularExpressions;
using TrainManager.Components;
using TrainManager.Tasks.Metrics;
using static TorchSharp.torch;

namespace TrainManager.Tasks;

/// <summary>Single-label classification: predictions are [batch, classes] scores, targets [batch] class indices; the
/// loss is cross-entropy. Metrics: <c>accuracy</c>, <c>top&lt;k&gt;</c> (e.g. <c>top5</c>), <c>f1-macro</c>.</summary>
[Component("classification", Description = "cross-entropy over class scores; accuracy, top-k, macro F1")]
public sealed partial class ClassificationTask : ITrainingTask
{
    public Tensor PerSampleLoss(Tensor prediction, Tensor targets) =>
        nn.functional.cross_entropy(prediction, targets, reduction: nn.Reduction.None);

    public Tensor Loss(Tensor prediction, Tensor targets) => nn.functional.cross_entropy(prediction, targets);

    public IReadOnlyList<MetricDefinition> Metrics { get; } =
    [
        new("accuracy", () => new TopKAccuracy(1)),
        new("top5", () => new TopKAccuracy(5), Pattern: "top<k>"),
        new("f1-macro", () => new ClassF1()),
    ];

    public MetricDefinition? FindMetric(string name)
    {
        if (TopK().Match(name) is { Success: true } top && int.TryParse(top.Groups[1].Value, out var k) && k >= 1)
            return new MetricDefinition(name, () => new TopKAccuracy(k));
        return Metrics.FirstOrDefault(m => m.Name == name);
    }

    [GeneratedRegex(@"^top(\d{1,4})$")]
    private static partial Regex TopK();
}
