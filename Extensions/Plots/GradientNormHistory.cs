namespace TrainManager.Extensions.Plots;

/// <summary>
/// Each parameter's gradient norm over the measured steps, kept as log10 so that compaction averages in log space
/// (a geometric mean: one step's spike does not hide a decade of decline). Norms below <see cref="Floor"/> (zeros
/// included) are kept at the floor, the bottom of the picture; steps with non-finite gradients are kept apart.
/// </summary>
public sealed class GradientNormHistory(double floor, int pointsPerParameter = 2048, int maxNonFiniteSteps = 200)
{
    private readonly Dictionary<string, CompactingSeries> _series = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();
    private readonly List<long> _nonFiniteSteps = new();

    public double Floor { get; } = floor > 0 ? floor : throw new ArgumentOutOfRangeException(nameof(floor), floor, "The floor of a log axis must be positive.");

    /// <summary>Steps at which some gradient was not finite, up to a bound (the first ones are the telling ones).</summary>
    public IReadOnlyList<long> NonFiniteSteps => _nonFiniteSteps;

    public bool IsEmpty => _order.Count == 0 && _nonFiniteSteps.Count == 0;

    public void Add(GradientMeasurement measurement)
    {
        var nonFinite = false;
        for (var i = 0; i < measurement.Names.Count; i++)
        {
            var name = measurement.Names[i];
            var norm = measurement.Norms[i];
            if (!double.IsFinite(norm))
            {
                nonFinite = true;
                continue;
            }
            if (!_series.TryGetValue(name, out var series))
            {
                _series[name] = series = new CompactingSeries(pointsPerParameter);
                _order.Add(name);
            }
            series.Add(measurement.Step, Math.Log10(Math.Max(norm, Floor)));
        }
        if (nonFinite && _nonFiniteSteps.Count < maxNonFiniteSteps) _nonFiniteSteps.Add(measurement.Step);
    }

    /// <summary>A copy to draw from on another thread while training adds more.</summary>
    public GradientNormSnapshot Snapshot() => new(
        _order.Select(name => (name, _series[name].Points())).Select(p => new GradientNormLine(p.name, p.Item2.Xs, p.Item2.Ys)).ToArray(),
        _nonFiniteSteps.ToArray(), Floor);
}

/// <summary>One parameter's line: steps and log10 of the gradient norm.</summary>
public sealed record GradientNormLine(string Name, double[] Steps, double[] Log10Norms);

/// <summary>What <see cref="GradientCharts.DrawNorms"/> draws.</summary>
public sealed record GradientNormSnapshot(IReadOnlyList<GradientNormLine> Lines, IReadOnlyList<long> NonFiniteSteps, double Floor);
