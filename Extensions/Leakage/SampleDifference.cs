using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>Per-sample comparisons of batched tensors (samples along dimension 0).</summary>
internal static class SampleDifference
{
    /// <summary>
    /// For every sample, the largest |a − b| over its elements that is outside the tolerance (0 when all are close).
    /// Tensors whose shapes differ or whose first dimension is not the batch give null: they cannot be compared per sample.
    /// </summary>
    public static double[]? ChangedSamples(Tensor a, Tensor b, long batchSize, double absoluteTolerance, double relativeTolerance)
    {
        if (a.dim() == 0 || a.shape[0] != batchSize || !a.shape.SequenceEqual(b.shape))
            return null;

        using var scope = NewDisposeScope();
        var left = a.to(float64).reshape(batchSize, -1);
        var right = b.to(float64).reshape(batchSize, -1);
        var differs = isclose(left, right, relativeTolerance, absoluteTolerance, nanEqual: true).logical_not();
        // A value turning into NaN (or back) is a change; report it as an infinite one.
        var magnitude = (left - right).abs().nan_to_num(nan: double.PositiveInfinity);
        magnitude = magnitude.where(differs, zeros_like(magnitude));
        return RowMaxima(magnitude, batchSize);
    }

    /// <summary>For every sample, the largest |value| over its elements.</summary>
    public static double[] MaxMagnitude(Tensor values, long batchSize)
    {
        using var scope = NewDisposeScope();
        return RowMaxima(values.to(float64).reshape(batchSize, -1).abs(), batchSize);
    }

    private static double[] RowMaxima(Tensor rows, long batchSize) =>
        rows.size(1) == 0 ? new double[batchSize] : rows.amax([1]).cpu().data<double>().ToArray();
}
