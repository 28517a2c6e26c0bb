using static TorchSharp.torch;

namespace TrainManager.Tasks.Metrics;

/// <summary>The share of samples whose target class is among the <paramref name="k"/> highest scores (k = 1: accuracy).
/// Predictions are [batch, classes] scores, targets [batch] class indices.</summary>
public sealed class TopKAccuracy(int k = 1) : IMetric
{
    long _hits, _samples;

    public void Update(Tensor prediction, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var classes = (int)prediction.shape[1];
        var top = k == 1
            ? prediction.argmax(1).eq(targets)
            : prediction.topk(Math.Min(k, classes), dim: 1).indexes.eq(targets.unsqueeze(1)).any(1);
        _hits += top.sum().item<long>();
        _samples += targets.shape[0];
    }

    public double Compute() => _samples > 0 ? (double)_hits / _samples : double.NaN;
}
