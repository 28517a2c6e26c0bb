namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// The statistics of TensorBoard's <c>HistogramProto</c>: extremes, count, sums and buckets
/// (<see cref="BucketLimits"/>[i] is the right edge of bucket i, which holds <see cref="BucketCounts"/>[i] values).
/// </summary>
public sealed record HistogramSummary(
    double Min,
    double Max,
    double Count,
    double Sum,
    double SumOfSquares,
    IReadOnlyList<double> BucketLimits,
    IReadOnlyList<double> BucketCounts)
{
    /// <summary>
    /// Summarises the finite values of <paramref name="values"/>. NaN and ±∞ are left out because no bucket can hold
    /// them and they would turn min/max/sum into NaN, hiding the distribution of everything else.
    /// Empty buckets before the first and after the last occupied one are dropped; runs of empty buckets in between
    /// are merged into one (as TensorFlow does), which keeps the record small without losing any edge that matters.
    /// </summary>
    public static HistogramSummary Compute(ReadOnlySpan<float> values, HistogramBinning binning)
    {
        ArgumentNullException.ThrowIfNull(binning);

        double min = double.PositiveInfinity, max = double.NegativeInfinity, count = 0, sum = 0, sumOfSquares = 0;
        foreach (var value in values)
        {
            if (!float.IsFinite(value))
                continue;
            min = Math.Min(min, value);
            max = Math.Max(max, value);
            count++;
            sum += value;
            sumOfSquares += (double)value * value;
        }

        if (count == 0)
            return new HistogramSummary(0, 0, 0, 0, 0, [0.0], [0.0]);

        var limits = binning.BucketLimits(min, max);
        var counts = new double[limits.Count];
        foreach (var value in values)
        {
            if (float.IsFinite(value))
                counts[BucketIndex(limits, value)]++;
        }

        return Compact(min, max, count, sum, sumOfSquares, limits, counts);
    }

    private static int BucketIndex(IReadOnlyList<double> limits, double value)
    {
        // First limit strictly greater than the value; values at or beyond the last limit go into the last bucket.
        int low = 0, high = limits.Count - 1;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (limits[mid] > value)
                high = mid;
            else
                low = mid + 1;
        }

        return low;
    }

    private static HistogramSummary Compact(
        double min, double max, double count, double sum, double sumOfSquares, IReadOnlyList<double> limits, double[] counts)
    {
        var first = Array.FindIndex(counts, c => c > 0);
        var last = Array.FindLastIndex(counts, c => c > 0);

        var keptLimits = new List<double>();
        var keptCounts = new List<double>();
        for (var i = first; i <= last; i++)
        {
            if (counts[i] == 0 && keptCounts.Count > 0 && keptCounts[^1] == 0)
            {
                keptLimits[^1] = limits[i]; // extend the previous empty bucket instead of adding another
                continue;
            }

            keptLimits.Add(limits[i]);
            keptCounts.Add(counts[i]);
        }

        return new HistogramSummary(min, max, count, sum, sumOfSquares, keptLimits, keptCounts);
    }
}
