using System.Globalization;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Flags parameters whose gradients vanish (every |g| below <see cref="VanishThreshold"/>) or explode (NaN or
/// infinity, or an L2 norm above <see cref="ExplodeThreshold"/>). It writes a line when a parameter enters such a
/// condition and one when it leaves it, not one per measured step, so a layer that stays dead does not flood the log.
/// </summary>
public sealed class GradientHealthMonitor
{
    private readonly Action<string> _log;
    private readonly Dictionary<string, GradientCondition> _conditions = new(StringComparer.Ordinal);

    public GradientHealthMonitor(double vanishThreshold, double explodeThreshold, Action<string> log)
    {
        if (!(vanishThreshold >= 0))
            throw new ArgumentException($"vanish-threshold must be 0 (off) or more, but is {vanishThreshold}.");
        if (!(explodeThreshold > vanishThreshold))
            throw new ArgumentException($"explode-threshold ({explodeThreshold}) must be above vanish-threshold ({vanishThreshold}).");
        VanishThreshold = vanishThreshold;
        ExplodeThreshold = explodeThreshold;
        _log = log;
    }

    public double VanishThreshold { get; }
    public double ExplodeThreshold { get; }

    /// <summary>Each flagged parameter's condition at the last step it was measured; healthy ones are left out.</summary>
    public IReadOnlyDictionary<string, GradientCondition> Flagged =>
        _conditions.Where(c => c.Value != GradientCondition.Healthy).ToDictionary(c => c.Key, c => c.Value);

    public GradientCondition Classify(double norm, double maxMagnitude)
    {
        // A NaN norm fails every comparison, so "not finite" is tested first and explicitly.
        if (!double.IsFinite(norm) || !double.IsFinite(maxMagnitude) || norm > ExplodeThreshold) return GradientCondition.Exploding;
        return maxMagnitude < VanishThreshold ? GradientCondition.Vanishing : GradientCondition.Healthy;
    }

    public void Check(GradientMeasurement measurement)
    {
        for (var i = 0; i < measurement.Names.Count; i++)
        {
            var name = measurement.Names[i];
            var (norm, max) = (measurement.Norms[i], measurement.MaxMagnitudes[i]);
            var condition = Classify(norm, max);
            var before = _conditions.GetValueOrDefault(name, GradientCondition.Healthy);
            _conditions[name] = condition;
            if (condition == before) continue;
            var what = condition switch
            {
                GradientCondition.Vanishing => $"vanish: every |g| < {Number(VanishThreshold)} (max |g| = {Number(max)})",
                GradientCondition.Exploding when !double.IsFinite(norm) || !double.IsFinite(max) => $"explode: non-finite values (L2 norm = {Number(norm)})",
                GradientCondition.Exploding => $"explode: L2 norm {Number(norm)} > {Number(ExplodeThreshold)}",
                _ => $"are healthy again after {before.ToString().ToLowerInvariant()} (L2 norm {Number(norm)}, max |g| = {Number(max)})",
            };
            _log($"[gradients] step {measurement.Step}: gradients of '{name}' {what}");
        }
    }

    private static string Number(double value) => value.ToString("0.###e+0", CultureInfo.InvariantCulture);
}
