using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Tasks.Metrics;

/// <summary>Which labels a multi-label model predicts: those whose logit's sigmoid reaches <paramref name="threshold"/>.
/// Predictions are [batch, labels] logits, targets [batch, labels] of 0 and 1.</summary>
internal static class MultiLabelDecision
{
    /// <summary>A bool [batch, labels] tensor; sigmoid(x) ≥ t is x ≥ logit(t), which saves the sigmoid.</summary>
    public static Tensor Predicted(Tensor prediction, double threshold)
    {
        using var logit = Math.Log(threshold / (1 - threshold)).ToScalar();
        return prediction.ge(logit);
    }

    public static Tensor Actual(Tensor targets)
    {
        using var half = 0.5.ToScalar();
        return targets.ge(half);
    }
}

/// <summary>F1 of a multi-label model over a split. <paramref name="label"/> null: macro F1 over the labels that occur;
/// a label index: that label's F1.</summary>
public sealed class MultiLabelF1(double threshold = 0.5, int? label = null) : IMetric
{
    readonly LabelCounts _counts = new();

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var predicted = MultiLabelDecision.Predicted(prediction, threshold);
        var actual = MultiLabelDecision.Actual(targets);
        _counts.Add(PerLabel(predicted.logical_and(actual)), PerLabel(predicted), PerLabel(actual));
    }

    static long[] PerLabel(Tensor flags) => flags.sum(0, type: int64).cpu().data<long>().ToArray();

    public double Compute() => label is { } one ? _counts.F1(one) : _counts.MacroF1();
}

/// <summary>Exact-match accuracy of a multi-label model: the share of samples whose every label is right.</summary>
public sealed class ExactMatch(double threshold = 0.5) : IMetric
{
    long _matches, _samples;

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var predicted = MultiLabelDecision.Predicted(prediction, threshold);
        var actual = MultiLabelDecision.Actual(targets);
        _matches += predicted.eq(actual).all(1).sum().item<long>();
        _samples += targets.shape[0];
    }

    public double Compute() => _samples > 0 ? (double)_matches / _samples : double.NaN;
}
