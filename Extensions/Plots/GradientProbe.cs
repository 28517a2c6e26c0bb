using TorchSharp;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Reads gradients where they are (CPU or GPU) and brings back only small results: a couple of reductions per
/// parameter, stacked, then one transfer to the host. The gradients themselves never leave the device.
/// </summary>
public static class GradientProbe
{
    public static GradientMeasurement Measure(long step, nn.Module model)
    {
        using var scope = NewDisposeScope();
        var names = new List<string>();
        var reductions = new List<Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.grad is not { } grad) continue;
            var g = grad.detach();
            // max |g| = max(-min, max): one fused pass, and no |g| copy. (The infinity norm computes the same but
            // is about twenty times slower on CPU in libtorch 2.x.)
            var (min, max) = g.aminmax();
            // The L2 norm as the root of the sum of squares: linalg.vector_norm and square() make Scalars they do not keep.
            reductions.Add(stack([g.mul(g).sum().sqrt(), min, max]).to_type(ScalarType.Float64));
            names.Add(name);
        }
        if (names.Count == 0) return new GradientMeasurement(step, [], [], []);
        var values = stack(reductions).cpu().data<double>().ToArray();
        var norms = new double[names.Count];
        var maxima = new double[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            norms[i] = values[3 * i];
            // Math.Max keeps a NaN, so a gradient holding NaN has a NaN maximum too.
            maxima[i] = Math.Max(Math.Abs(values[3 * i + 1]), Math.Abs(values[3 * i + 2]));
        }
        return new GradientMeasurement(step, names, norms, maxima);
    }

    /// <summary>Counts each parameter's gradient values in <paramref name="bins"/> bins, on the device, with two
    /// transfers in all: the ranges, then the counts.</summary>
    public static IReadOnlyList<GradientHistogram> Histograms(long step, nn.Module model, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        using var scope = NewDisposeScope();
        using var scalars = new OwnedScalars();
        var names = new List<string>();
        var values = new List<Tensor>();
        var finite = new List<Tensor>();
        var ranges = new List<Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.grad is not { } grad) continue;
            var g = grad.detach().flatten().to_type(ScalarType.Float32);
            var isFinite = g.isfinite();
            var notFinite = isFinite.logical_not();
            ranges.Add(stack([
                g.masked_fill(notFinite, scalars[double.PositiveInfinity]).min(),
                g.masked_fill(notFinite, scalars[double.NegativeInfinity]).max(),
                notFinite.sum().to_type(ScalarType.Float32),
            ]).to_type(ScalarType.Float64));
            names.Add(name);
            values.Add(g);
            finite.Add(isFinite);
        }
        if (names.Count == 0) return [];
        var range = stack(ranges).cpu().data<double>().ToArray();

        var counts = new List<Tensor>();
        for (var i = 0; i < names.Count; i++)
        {
            var (lo, hi) = (range[3 * i], range[3 * i + 1]);
            if (!double.IsFinite(lo))
            {
                counts.Add(zeros(bins, ScalarType.Int64, values[i].device));
                continue;
            }
            // A constant gradient (all zeros, say) has no width: everything falls in the first bin.
            var scale = hi > lo && double.IsFinite(bins / (hi - lo)) ? bins / (hi - lo) : 0.0;
            var index = values[i].sub(scalars[lo]).mul(scalars[scale]).floor_().clamp_(scalars[0], scalars[bins - 1])
                .masked_fill(finite[i].logical_not(), scalars[bins])   // non-finite values go to an overflow bin, dropped below
                .to_type(ScalarType.Int64);
            counts.Add(index.bincount(null, bins + 1).narrow(0, 0, bins));
        }
        var host = stack(counts).cpu().data<long>().ToArray();
        var result = new GradientHistogram[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            var (lo, hi, nonFinite) = (range[3 * i], range[3 * i + 1], (long)range[3 * i + 2]);
            result[i] = double.IsFinite(lo)
                ? new GradientHistogram(names[i], step, lo, hi, host.AsSpan(i * bins, bins).ToArray(), nonFinite)
                : new GradientHistogram(names[i], step, double.NaN, double.NaN, [], nonFinite);
        }
        return result;
    }
}
