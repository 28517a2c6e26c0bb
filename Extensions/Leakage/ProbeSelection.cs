namespace TrainManager.Extensions.Leakage;

/// <summary>Which samples to probe: evenly spread, first and last included, so both ends of the batch are exercised.</summary>
internal static class ProbeSelection
{
    public static IReadOnlyList<int> Spread(long batchSize, int probeCount)
    {
        var count = (int)Math.Min(probeCount, batchSize);
        if (count == 1)
            return [0];
        return Enumerable.Range(0, count)
            .Select(k => (int)Math.Round(k * (batchSize - 1.0) / (count - 1)))
            .Distinct()
            .ToList();
    }
}
