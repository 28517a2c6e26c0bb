using TorchSharp;

namespace TrainManager.Data.Prefetch;

/// <summary>
/// A data set whose batches are read ahead on a background thread, in the order <see cref="IBatchPlan"/> predicts, so
/// the reader does not wait on the disk when the disk keeps up. A batch that is not the predicted next one is read on
/// the caller's thread, as without prefetching, and reading ahead goes on from there (when the plan knows the batch).
/// The batches are the same, in content and order, as the wrapped data set's.
/// <para>A batch read ahead is owned by the caller from the moment it is returned: it joins the caller's dispose scope
/// when there is one, as a batch read on the caller's thread would.</para>
/// </summary>
public sealed class PrefetchingDataset : IDataset, IDisposable
{
    readonly IDataset _inner;
    readonly IBatchPlan _plan;
    readonly int _depth;
    readonly object _gate = new();
    BatchPrefetcher? _ahead;

    /// <param name="depth">How many batches to keep read ahead (at least 1).</param>
    public PrefetchingDataset(IDataset inner, IBatchPlan plan, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        (_inner, _plan, _depth) = (inner, plan, depth);
    }

    public IDataset Inner => _inner;
    public long Count => _inner.Count;

    /// <summary>Batches that were handed out from what was read ahead.</summary>
    public long BatchesReadAhead { get; private set; }

    /// <summary>Batches that were read when they were asked for (not predicted, or the first of a pass).</summary>
    public long BatchesReadOnDemand { get; private set; }

    public Sample Get(long index)
    {
        lock (_gate) return _inner.Get(index);
    }

    public Batch GetBatch(long[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (_ahead?.Next is { } next && next.AsSpan().SequenceEqual(indices))
        {
            var ahead = _ahead.Take();
            if (torch.CurrentDisposeScope is { } scope)
            {
                scope.Attach(ahead.Input);
                scope.Attach(ahead.Target);
            }
            BatchesReadAhead++;
            return ahead;
        }
        StopReadingAhead();
        Batch batch;
        lock (_gate) batch = _inner.GetBatch(indices);
        BatchesReadOnDemand++;
        if (_plan.After(indices) is { } following)
            _ahead = new BatchPrefetcher(_inner, following, _depth, _gate);
        return batch;
    }

    /// <summary>Stops the reading thread and disposes what it read and nobody took (e.g. when an epoch stopped early).
    /// Reading ahead starts again with the next batch asked for.</summary>
    public void StopReadingAhead()
    {
        _ahead?.Dispose();
        _ahead = null;
    }

    public void Dispose()
    {
        StopReadingAhead();
        (_inner as IDisposable)?.Dispose();
    }
}
