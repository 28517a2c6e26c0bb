namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// Chooses histogram bucket edges. A bucket is described by its right edge (<c>bucket_limit</c>);
/// a value belongs to the first bucket whose limit is greater than it.
/// </summary>
public abstract class HistogramBinning
{
    /// <summary>TensorFlow's default buckets: ±1e-12·1.1^k up to 1e20, plus zero; scale-free, so good for weights and gradients.</summary>
    public static HistogramBinning Exponential { get; } = new ExponentialHistogramBinning();

    /// <summary><paramref name="binCount"/> equal-width buckets between the smallest and the largest value.</summary>
    public static HistogramBinning FixedCount(int binCount) => new FixedCountHistogramBinning(binCount);

    /// <summary>Ascending bucket limits covering [<paramref name="min"/>, <paramref name="max"/>]; the last limit is ≥ max.</summary>
    public abstract IReadOnlyList<double> BucketLimits(double min, double max);
}

internal sealed class ExponentialHistogramBinning : HistogramBinning
{
    private static readonly double[] Limits = BuildLimits();

    public override IReadOnlyList<double> BucketLimits(double min, double max) => Limits;

    public override string ToString() => "exponential (TensorFlow default buckets)";

    private static double[] BuildLimits()
    {
        // Same construction as TensorFlow's histogram.cc, so the histograms look like those of TF/PyTorch writers.
        var positive = new List<double>();
        for (var v = 1e-12; v < 1e20; v *= 1.1)
            positive.Add(v);
        positive.Add(double.MaxValue);

        var limits = new List<double>(positive.Count * 2 + 1);
        for (var i = positive.Count - 1; i >= 0; i--)
            limits.Add(-positive[i]);
        limits.Add(0.0);
        limits.AddRange(positive);
        return limits.ToArray();
    }
}

internal sealed class FixedCountHistogramBinning : HistogramBinning
{
    private readonly int _binCount;

    public FixedCountHistogramBinning(int binCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(binCount, 1);
        _binCount = binCount;
    }

    public override IReadOnlyList<double> BucketLimits(double min, double max)
    {
        // A constant tensor has no width to split; one bucket holding everything is the honest picture.
        if (!(max > min))
            return [max];

        var width = (max - min) / _binCount;
        var limits = new double[_binCount];
        for (var i = 0; i < _binCount - 1; i++)
            limits[i] = min + width * (i + 1);
        limits[^1] = max; // exact, so rounding never leaves the maximum outside the last bucket
        return limits;
    }

    public override string ToString() => $"{_binCount} equal-width buckets";
}
