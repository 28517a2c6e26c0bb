using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Backward half of the check: the gradient of one probe sample's output sum with respect to the whole input batch
/// must be zero at every other sample. Catches couplings that are invisible in values but not in gradients.
/// </summary>
internal static class GradientLeakCheck
{
    public sealed record Result(IReadOnlyList<SampleLeak> Leaks, bool Checked, string? Note);

    public static Result Run(
        Func<Tensor, Tensor> forward, Tensor batch, IReadOnlyList<int> probes, LeakageCheckOptions options, RandomStateRewind randomness)
    {
        if (!batch.is_floating_point())
            return new Result([], false, $"gradients not checked: the inputs are {batch.dtype}, and only floating-point inputs have gradients.");

        var batchSize = batch.shape[0];
        using var enableGrad = enable_grad();
        var input = batch.detach().clone().requires_grad_(true);
        randomness.Rewind();
        var output = forward(input);
        if (!output.requires_grad)
            return new Result([], false, "gradients not checked: the output does not require grad (detached or computed without autograd).");

        var leaks = new List<SampleLeak>();
        for (var p = 0; p < probes.Count; p++)
        {
            var affected = probes[p];
            using var probeScope = NewDisposeScope();
            var gradient = autograd.grad(
                [output[affected].sum()], [input], retain_graph: p < probes.Count - 1, allow_unused: true)[0];
            // An unused input yields an undefined gradient: this sample's output does not depend on the batch at all.
            if (gradient is null || gradient.IsInvalid)
                continue;

            // NaN is not counted: 0/0 in a backward (e.g. normalising an all-zero sample) is not a dependence.
            var magnitude = SampleDifference.MaxMagnitude(gradient, batchSize);
            leaks.AddRange(Enumerable.Range(0, (int)batchSize)
                .Where(j => j != affected && magnitude[j] > options.GradientTolerance)
                .Select(j => new SampleLeak(affected, j, magnitude[j])));
        }

        return new Result(leaks, true, null);
    }
}
