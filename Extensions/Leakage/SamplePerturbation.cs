using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>Makes a copy of a batch in which exactly one sample is changed.</summary>
internal sealed class SamplePerturbation : IDisposable
{
    private readonly Generator _generator;
    private readonly double _noiseScale;

    public SamplePerturbation(long seed, double noiseScale)
    {
        // The check's own CPU generator: perturbations are reproducible and the user's random stream is not consumed.
        _generator = new Generator((ulong)seed, CPU);
        _noiseScale = noiseScale;
    }

    /// <summary>
    /// Floating-point samples get Gaussian noise scaled to the batch's spread; integer samples (token ids, class
    /// indices) get fresh values within the batch's range; booleans are flipped.
    /// </summary>
    public Tensor Perturb(Tensor batch, long sample)
    {
        var perturbed = batch.detach().clone();
        var target = perturbed[sample];
        var shape = target.shape;
        using var noGrad = no_grad();
        using var scalars = new OwnedScalars();
        if (batch.is_floating_point() || batch.is_complex())
        {
            var spread = batch.to(float64).std().item<double>();
            var scale = _noiseScale * (spread > 0 && double.IsFinite(spread) ? spread : 1.0);
            var noise = randn(shape, float64, CPU, generator: _generator).mul(scalars[scale]);
            target.add_(noise.to(batch.dtype, batch.device), scalars[1]);
        }
        else if (batch.dtype == ScalarType.Bool)
        {
            target.logical_not_();
        }
        else
        {
            var low = batch.min().item<long>();
            var high = batch.max().item<long>();
            // A batch holding one value only: shift it, since there is no other value inside its range.
            var values = high > low
                ? randint(low, high + 1, shape, ScalarType.Int64, CPU, generator: _generator)
                : full(shape, scalars.Integer(low + 1), ScalarType.Int64, CPU);
            target.copy_(values.to(batch.dtype, batch.device));
        }

        return perturbed;
    }

    public void Dispose() => _generator.Dispose();
}
