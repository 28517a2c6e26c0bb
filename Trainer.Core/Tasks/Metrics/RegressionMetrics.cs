using static TorchSharp.torch;

namespace TrainManager.Tasks.Metrics;

/// <summary>Lines regression targets up with predictions: a [batch] target against a [batch, 1] prediction is one
/// output, and sums are taken in double precision so a large split does not lose digits.</summary>
internal static class RegressionPair
{
    public static (Tensor Prediction, Tensor Targets) Aligned(Tensor prediction, Tensor targets)
    {
        var p = prediction.to(float64);
        var t = targets.to(float64);
        if (!p.shape.SequenceEqual(t.shape) && p.numel() == t.numel()) t = t.reshape(p.shape);
        if (p.dim() == 1) (p, t) = (p.unsqueeze(1), t.unsqueeze(1));
        return (p.flatten(1), t.flatten(1));
    }

    public static double[] ColumnSums(Tensor values) => values.sum(dim: 0L).cpu().data<double>().ToArray();
}

/// <summary>Mean squared error over every output of every sample of a split.</summary>
public sealed class MeanSquaredError : IMetric
{
    double _sum;
    long _count;

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var (p, t) = RegressionPair.Aligned(prediction, targets);
        using var difference = p.sub(t);
        using var squared = difference.mul(difference); // not square(): it makes a Scalar nothing keeps alive
        _sum += squared.sum().item<double>();
        _count += p.numel();
    }

    public double Compute() => _count > 0 ? _sum / _count : double.NaN;
}

/// <summary>Mean absolute error over every output of every sample of a split.</summary>
public sealed class MeanAbsoluteError : IMetric
{
    double _sum;
    long _count;

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var (p, t) = RegressionPair.Aligned(prediction, targets);
        _sum += p.sub(t).abs().sum().item<double>();
        _count += p.numel();
    }

    public double Compute() => _count > 0 ? _sum / _count : double.NaN;
}

/// <summary>
/// The coefficient of determination, 1 − SS_res / SS_tot, exact over a split: per output it keeps Σy, Σy² and
/// Σ(y − ŷ)², and SS_tot = Σy² − (Σy)²/n. Several outputs are averaged, each counting the same (scikit-learn's
/// <c>uniform_average</c>); an output whose targets are constant scores 1 when predicted exactly and 0 otherwise.
/// </summary>
public sealed class RSquared : IMetric
{
    double[] _sum = [], _sumOfSquares = [], _residuals = [];
    long _samples;

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var (p, t) = RegressionPair.Aligned(prediction, targets);
        Add(ref _sum, RegressionPair.ColumnSums(t));
        // x·x rather than square(): TorchSharp's square() makes a Scalar nothing keeps alive.
        using var targetSquares = t.mul(t);
        using var difference = p.sub(t);
        using var residualSquares = difference.mul(difference);
        Add(ref _sumOfSquares, RegressionPair.ColumnSums(targetSquares));
        Add(ref _residuals, RegressionPair.ColumnSums(residualSquares));
        _samples += t.shape[0];
    }

    static void Add(ref double[] totals, double[] batch)
    {
        if (totals.Length < batch.Length) Array.Resize(ref totals, batch.Length);
        for (var i = 0; i < batch.Length; i++) totals[i] += batch[i];
    }

    public double Compute()
    {
        if (_samples == 0) return double.NaN;
        var scores = new double[_sum.Length];
        for (var output = 0; output < scores.Length; output++)
        {
            var total = _sumOfSquares[output] - _sum[output] * _sum[output] / _samples;
            scores[output] = total > 0 ? 1 - _residuals[output] / total : _residuals[output] == 0 ? 1 : 0;
        }
        return scores.Average();
    }
}
