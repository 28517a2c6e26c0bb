namespace TrainManager.Extensions.Plots;

/// <summary>How the per-sample losses of one epoch are spread: the 5th, 25th, 50th, 75th and 95th percentiles
/// and the maximum. Box-and-whisker pictures draw these.</summary>
public sealed record LossDistribution(int Epoch, long Samples, double P5, double P25, double Median, double P75, double P95, double Max)
{
    /// <summary>Percentiles of <paramref name="losses"/> by linear interpolation between order statistics
    /// (numpy's default). Non-finite values are left out; null when no finite value is left.</summary>
    public static LossDistribution? Of(int epoch, IEnumerable<float> losses)
    {
        var sorted = losses.Where(float.IsFinite).Select(l => (double)l).ToArray();
        if (sorted.Length == 0) return null;
        Array.Sort(sorted);
        return new LossDistribution(epoch, sorted.Length, Percentile(sorted, 5), Percentile(sorted, 25), Percentile(sorted, 50),
            Percentile(sorted, 75), Percentile(sorted, 95), sorted[^1]);
    }

    private static double Percentile(double[] sorted, double percent)
    {
        var rank = percent / 100 * (sorted.Length - 1);
        var below = (int)Math.Floor(rank);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
