namespace TrainManager.Tasks.Metrics;

/// <summary>
/// True positives, false positives and false negatives per label, summed over a split: what F1 needs to be exact over
/// the split (a mean of batch F1s is not). Macro F1 averages over the labels that occur, in the targets or the
/// predictions; a label that never occurs has nothing to score and is left out, as scikit-learn's default labels do.
/// </summary>
public sealed class LabelCounts
{
    long[] _truePositives = [], _falsePositives = [], _falseNegatives = [];

    public int Labels => _truePositives.Length;

    /// <summary>Adds one batch's counts per label (arrays of the same length, the number of labels).</summary>
    public void Add(ReadOnlySpan<long> truePositives, ReadOnlySpan<long> predictedPositives, ReadOnlySpan<long> actualPositives)
    {
        if (_truePositives.Length < truePositives.Length)
        {
            Array.Resize(ref _truePositives, truePositives.Length);
            Array.Resize(ref _falsePositives, truePositives.Length);
            Array.Resize(ref _falseNegatives, truePositives.Length);
        }
        for (var label = 0; label < truePositives.Length; label++)
        {
            _truePositives[label] += truePositives[label];
            _falsePositives[label] += predictedPositives[label] - truePositives[label];
            _falseNegatives[label] += actualPositives[label] - truePositives[label];
        }
    }

    /// <summary>F1 of <paramref name="label"/>: 2TP / (2TP + FP + FN); NaN when the label never occurred.</summary>
    public double F1(int label)
    {
        if (label >= _truePositives.Length) return double.NaN;
        var denominator = 2 * _truePositives[label] + _falsePositives[label] + _falseNegatives[label];
        return denominator > 0 ? 2.0 * _truePositives[label] / denominator : double.NaN;
    }

    /// <summary>The mean F1 over the labels that occurred; NaN when none did.</summary>
    public double MacroF1()
    {
        var scores = Enumerable.Range(0, Labels).Select(F1).Where(double.IsFinite).ToList();
        return scores.Count > 0 ? scores.Average() : double.NaN;
    }
}
