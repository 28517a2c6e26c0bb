using static TorchSharp.torch;

namespace TrainManager.Tasks.Metrics;

/// <summary>F1 of a single-label classifier over a split: the predicted class is the highest score.
/// <paramref name="label"/> null: macro F1 over the classes; a class index: that class's F1.</summary>
public sealed class ClassF1(int? label = null) : IMetric
{
    readonly LabelCounts _counts = new();

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var classes = prediction.shape[1];
        var predicted = prediction.argmax(1);
        var labels = targets.to(int64);
        var hits = labels.masked_select(predicted.eq(labels));
        _counts.Add(Counts(hits, classes), Counts(predicted, classes), Counts(labels, classes));
    }

    static long[] Counts(Tensor classIndices, long classes) =>
        bincount(classIndices, minlength: classes).cpu().data<long>().ToArray();

    public double Compute() => label is { } one ? _counts.F1(one) : _counts.MacroF1();
}
