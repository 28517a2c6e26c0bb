namespace TrainManager.Extensions.Plots;

/// <summary>
/// Loss across samples: the distribution of per-sample losses in each epoch, and the samples with the highest loss.
/// Memory is one float per sample of the epoch in progress plus a bounded heap per epoch, whatever the run's length.
/// </summary>
/// <remarks>
/// The worst samples are those of the last finished epoch: every sample is seen once per epoch, so that epoch holds
/// each sample's latest loss. Early epochs are not mixed in, where nearly every sample has a high loss. Until the
/// first epoch finishes, the epoch in progress is used.
/// </remarks>
public sealed class SampleLossTracker
{
    private readonly int _worstCount;
    private readonly List<LossDistribution> _finished = new();
    private readonly List<float> _current = new();
    private PriorityQueue<SampleLoss, double> _currentWorst = new();
    private IReadOnlyList<SampleLoss> _lastFinishedWorst = [];
    private int? _currentEpoch;

    public SampleLossTracker(int worstCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(worstCount);
        _worstCount = worstCount;
    }

    /// <summary>Records one batch. Losses and indices are parallel; non-finite losses count in no statistic.</summary>
    public void Add(int epoch, long step, ReadOnlySpan<float> losses, ReadOnlySpan<long> sampleIndices)
    {
        if (losses.Length != sampleIndices.Length)
            throw new ArgumentException($"{losses.Length} per-sample losses but {sampleIndices.Length} sample indices; they must be parallel.");
        if (_currentEpoch != epoch)
        {
            FinishEpoch();
            _currentEpoch = epoch;
        }
        for (var i = 0; i < losses.Length; i++)
        {
            var loss = losses[i];
            if (!float.IsFinite(loss)) continue;
            _current.Add(loss);
            if (_worstCount == 0) continue;
            // A min-heap of the N highest: the root is the smallest of them, replaced when a higher one arrives.
            if (_currentWorst.Count < _worstCount) _currentWorst.Enqueue(new SampleLoss(sampleIndices[i], loss, epoch, step), loss);
            else if (loss > _currentWorst.Peek().Loss) _currentWorst.EnqueueDequeue(new SampleLoss(sampleIndices[i], loss, epoch, step), loss);
        }
    }

    /// <summary>Closes the epoch in progress: its distribution becomes final and its worst samples the ones reported.</summary>
    public void FinishEpoch()
    {
        if (_currentEpoch is not { } epoch) return;
        if (LossDistribution.Of(epoch, _current) is { } distribution) _finished.Add(distribution);
        if (_currentWorst.Count > 0) _lastFinishedWorst = Sorted(_currentWorst);
        _current.Clear();
        _currentWorst = new PriorityQueue<SampleLoss, double>();
        _currentEpoch = null;
    }

    /// <summary>One distribution per epoch, the epoch in progress included.</summary>
    public IReadOnlyList<LossDistribution> Distributions()
    {
        if (_currentEpoch is { } epoch && LossDistribution.Of(epoch, _current) is { } partial) return [.. _finished, partial];
        return _finished.ToArray();
    }

    /// <summary>The highest-loss samples, highest first, each sample at most once.</summary>
    public IReadOnlyList<SampleLoss> Worst() =>
        _lastFinishedWorst.Count > 0 || _currentWorst.Count == 0 ? _lastFinishedWorst : Sorted(_currentWorst);

    private static IReadOnlyList<SampleLoss> Sorted(PriorityQueue<SampleLoss, double> heap) =>
        heap.UnorderedItems.Select(e => e.Element)
            // A sampler that draws with replacement can show a sample twice in one epoch; its highest loss stands.
            .GroupBy(s => s.SampleIndex).Select(g => g.MaxBy(s => s.Loss))
            .OrderByDescending(s => s.Loss).ThenBy(s => s.SampleIndex)
            .ToArray();
}
