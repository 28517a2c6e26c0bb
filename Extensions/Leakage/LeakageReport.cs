using System.Text;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Sample <see cref="AffectedSample"/> depends on sample <see cref="ChangedSample"/>: its output moved by
/// <see cref="Magnitude"/> when that sample was perturbed (forward), or its output's gradient with respect to that
/// sample's input has magnitude <see cref="Magnitude"/> (backward).
/// </summary>
public sealed record SampleLeak(int AffectedSample, int ChangedSample, double Magnitude)
{
    public override string ToString() => $"({AffectedSample} ← {ChangedSample}, {Magnitude:G3})";
}

/// <summary>A layer switched to eval mode for the check, and why its training mode would have made the check meaningless.</summary>
public sealed record LayerPutInEvalMode(string Name, string TypeName, string Reason)
{
    public override string ToString() => $"{Name} ({TypeName}): {Reason}";
}

/// <summary>
/// Where samples are first mixed, in execution order. When <see cref="BeforeCalling"/> is set, the module's own
/// forward code (not one of its hooked submodules) mixed them before calling that submodule.
/// </summary>
public sealed record LeakingLayer(string Name, string TypeName, string? BeforeCalling = null)
{
    public override string ToString() => BeforeCalling is null
        ? $"{Name} ({TypeName})"
        : $"{Name} ({TypeName}), in its own forward code before it calls {BeforeCalling}";
}

/// <summary>The outcome of <see cref="BatchLeakageChecker.Check(TorchSharp.torch.nn.Module{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, TorchSharp.torch.Tensor, LeakageCheckOptions?)"/>.</summary>
public sealed record LeakageReport
{
    private const int PairsShown = 8;

    public required int BatchSize { get; init; }

    /// <summary>The samples that were perturbed (forward) and differentiated (backward).</summary>
    public required IReadOnlyList<int> ProbedSamples { get; init; }

    /// <summary>Output of <c>AffectedSample</c> changed when <c>ChangedSample</c> (a probe) was perturbed.</summary>
    public required IReadOnlyList<SampleLeak> ForwardLeaks { get; init; }

    /// <summary>Gradient of <c>AffectedSample</c>'s (a probe's) output sum is non-zero at <c>ChangedSample</c>'s input.</summary>
    public required IReadOnlyList<SampleLeak> GradientLeaks { get; init; }

    /// <summary>Whether the gradient check ran (it needs a floating-point input and an output that requires grad).</summary>
    public required bool GradientsChecked { get; init; }

    /// <summary>First layer, in execution order, whose output already mixes samples; null when none was located.</summary>
    public LeakingLayer? FirstLeakingLayer { get; init; }

    public required IReadOnlyList<LayerPutInEvalMode> LayersPutInEvalMode { get; init; }

    /// <summary>Things the reader should know about how far the check reached.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    public bool HasLeak => ForwardLeaks.Count > 0 || GradientLeaks.Count > 0;

    /// <summary>Distinct (affected, changed) sample pairs found by either check.</summary>
    public IReadOnlyList<(int AffectedSample, int ChangedSample)> LeakingPairs =>
        ForwardLeaks.Concat(GradientLeaks).Select(l => (l.AffectedSample, l.ChangedSample)).Distinct().Order().ToList();

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(HasLeak ? "Batch leakage FOUND" : "No batch leakage found")
            .Append($": batch of {BatchSize}, probed samples [{string.Join(", ", ProbedSamples)}], ")
            .AppendLine(GradientsChecked ? "forward and gradient checked." : "forward checked, gradients not checked.");

        if (ForwardLeaks.Count > 0)
            text.AppendLine($"  Forward: {Describe(ForwardLeaks)} (affected ← perturbed, max output change).");
        if (GradientLeaks.Count > 0)
            text.AppendLine($"  Gradient: {Describe(GradientLeaks)} (output ← input, max |gradient|).");
        if (FirstLeakingLayer is not null)
            text.AppendLine($"  First layer whose output mixes samples: {FirstLeakingLayer}.");
        foreach (var layer in LayersPutInEvalMode)
            text.AppendLine($"  Put in eval mode for the check: {layer}.");
        foreach (var note in Notes)
            text.AppendLine($"  Note: {note}");
        return text.ToString().TrimEnd();
    }

    private static string Describe(IReadOnlyList<SampleLeak> leaks) =>
        string.Join(", ", leaks.Take(PairsShown)) + (leaks.Count > PairsShown ? $" and {leaks.Count - PairsShown} more" : "");
}
