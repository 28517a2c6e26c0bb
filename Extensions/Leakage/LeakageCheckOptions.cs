namespace TrainManager.Extensions.Leakage;

/// <summary>How thoroughly and how strictly <see cref="BatchLeakageChecker"/> probes a batch.</summary>
public sealed record LeakageCheckOptions
{
    /// <summary>
    /// How many samples are probed: each is perturbed once (one forward pass) and differentiated once (one gradient).
    /// Spread over the batch, first and last sample included. Clamped to the batch size.
    /// </summary>
    public int ProbeCount { get; init; } = 4;

    /// <summary>Noise added to a perturbed floating-point sample, in units of the batch's standard deviation.</summary>
    public double NoiseScale { get; init; } = 1.0;

    /// <summary>Outputs count as unchanged when |a − b| ≤ AbsoluteTolerance + RelativeTolerance·|a|.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-6;

    /// <inheritdoc cref="AbsoluteTolerance"/>
    public double RelativeTolerance { get; init; } = 1e-5;

    /// <summary>
    /// Largest gradient magnitude still read as "no dependence". Independent samples give exact zeros, so the default
    /// only forgives denormal noise.
    /// </summary>
    public double GradientTolerance { get; init; } = 1e-30;

    /// <summary>Whether to run the gradient check as well (needs a floating-point input).</summary>
    public bool CheckGradients { get; init; } = true;

    /// <summary>Seed of the check's own generator for the perturbations; the global torch generator is left as it was.</summary>
    public long Seed { get; init; } = 20240229;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ProbeCount, 1, nameof(ProbeCount));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(NoiseScale, nameof(NoiseScale));
        ArgumentOutOfRangeException.ThrowIfNegative(AbsoluteTolerance, nameof(AbsoluteTolerance));
        ArgumentOutOfRangeException.ThrowIfNegative(RelativeTolerance, nameof(RelativeTolerance));
        ArgumentOutOfRangeException.ThrowIfNegative(GradientTolerance, nameof(GradientTolerance));
    }
}
