namespace TrainManager.Extensions.Plots;

/// <summary>Smooths a noisy line for display.</summary>
public static class Smoothing
{
    /// <summary>
    /// An exponential moving average whose span grows with the line (1/25 of its points, at least 5), so a short run
    /// is barely smoothed and a long one shows its trend. Bias-corrected like Adam's moments: without it the line
    /// would start near zero rather than at the first values.
    /// </summary>
    public static (double[] Smoothed, int Span) ExponentialMovingAverage(IReadOnlyList<double> values)
    {
        var span = Math.Max(5, values.Count / 25);
        var beta = 1 - 2.0 / (span + 1);
        var smoothed = new double[values.Count];
        double average = 0, weight = 0;
        for (var i = 0; i < values.Count; i++)
        {
            average = beta * average + (1 - beta) * values[i];
            weight = beta * weight + (1 - beta);
            smoothed[i] = average / weight;
        }
        return (smoothed, span);
    }
}
