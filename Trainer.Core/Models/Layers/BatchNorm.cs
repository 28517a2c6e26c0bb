using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TrainManager.Models.Layers;

/// <summary>
/// Batch normalisation over the channels of (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W) input: TorchSharp's
/// <c>BatchNorm1d/2d/3d</c>, computed the same way, with the same parameters and buffers (<c>weight</c>, <c>bias</c>,
/// <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>), so state dicts load into either. TorchSharp's
/// forward counts batches with <c>num_batches_tracked.add_(1)</c>, an implicit Scalar that a collection on another
/// thread can free while libtorch reads it; this one keeps its Scalar until the call has returned.
/// </summary>
public sealed class BatchNorm : TorchSharp.Modules.BatchNorm
{
    readonly int _dimensions;

    /// <param name="dimensions">1 for (N, C) or (N, C, L) input, 2 for images (N, C, H, W), 3 for volumes.</param>
    public BatchNorm(int dimensions, long features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
        bool trackRunningStats = true, Device? device = null, ScalarType? dtype = null)
        : base(features, eps, momentum, affine, trackRunningStats, device, dtype, $"BatchNorm{dimensions}d")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimensions, 3);
        _dimensions = dimensions;
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        var ok = _dimensions == 1 ? input.dim() is 2 or 3 : input.dim() == _dimensions + 2;
        if (!ok)
            throw new ArgumentException(
                $"BatchNorm{_dimensions}d expects {(_dimensions == 1 ? "2D or 3D" : $"{_dimensions + 2}D")} input (batch, channels, ...), but got {input.dim()}D input of shape [{string.Join(", ", input.shape)}].");
    }

    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var averagingFactor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is { } batches)
        {
            using var one = 1L.ToScalar();
            batches.add_(one, one);
            // No momentum: a cumulative average over the batches seen, as PyTorch does.
            if (momentum is null or 0) averagingFactor = 1.0 / batches.item<long>();
        }
        var useRunningStats = !training || track_running_stats;
        return F.batch_norm(input, useRunningStats ? running_mean : null, useRunningStats ? running_var : null, weight, bias,
            training || (running_mean is null && running_var is null), averagingFactor, eps);
    }
}
