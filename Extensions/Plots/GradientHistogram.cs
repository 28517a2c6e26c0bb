namespace TrainManager.Extensions.Plots;

/// <summary>
/// One parameter's gradient values at one step, counted in equal-width bins between the smallest and the largest
/// finite value. Non-finite values are counted apart; when every value is non-finite there are no bins.
/// </summary>
public sealed record GradientHistogram(string Name, long Step, double Min, double Max, IReadOnlyList<long> Counts, long NonFinite)
{
    public double BinWidth => Counts.Count == 0 ? 0 : (Max - Min) / Counts.Count;
}
