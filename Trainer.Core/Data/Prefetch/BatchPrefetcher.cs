using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace TrainManager.Data.Prefetch;

/// <summary>
/// Reads the batches of a known order ahead of their use, on a thread of its own, keeping up to <c>depth</c> batches
/// read or being read. The reader takes them in the plan's order and owns each one it takes.
/// <para>Native objects: the reading thread runs no dispose scope, and what it makes is detached from any scope a data
/// set may open, so each batch is owned by no one until the reader takes it. Disposing the prefetcher stops the thread
/// (after the batch it is reading) and disposes every batch read and not taken.</para>
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    readonly IDataset _data;
    readonly object _gate;
    readonly IEnumerator<long[]> _plan;
    readonly Queue<long[]> _inFlight = new();
    readonly BlockingCollection<long[]> _work = new();
    readonly BlockingCollection<Prepared> _ready = new();
    readonly CancellationTokenSource _stop = new();
    readonly Thread _thread;
    bool _disposed;

    sealed record Prepared(Batch? Batch, ExceptionDispatchInfo? Error);

    /// <param name="gate">Held while the data set is read, by this and by anyone else who reads it (a data set need not be
    /// safe to read from two threads at once).</param>
    public BatchPrefetcher(IDataset data, IEnumerable<long[]> plan, int depth, object? gate = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _data = data;
        _gate = gate ?? new object();
        _plan = plan.GetEnumerator();
        _thread = new Thread(Read) { IsBackground = true, Name = "batch prefetch" };
        _thread.Start();
        for (var i = 0; i < depth; i++) Ask();
    }

    /// <summary>The indices of the batch <see cref="Take"/> returns next, or null when the plan is done.</summary>
    public long[]? Next => _inFlight.TryPeek(out var next) ? next : null;

    /// <summary>The next batch of the plan (waiting for it if it is still being read); the caller owns it.</summary>
    /// <exception cref="InvalidOperationException">The plan is done.</exception>
    public Batch Take()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_inFlight.TryDequeue(out _))
            throw new InvalidOperationException("The plan has no batches left.");
        var prepared = _ready.Take();
        Ask();
        prepared.Error?.Throw();
        return prepared.Batch!;
    }

    void Ask()
    {
        if (!_plan.MoveNext()) return;
        _inFlight.Enqueue(_plan.Current);
        _work.Add(_plan.Current);
    }

    void Read()
    {
        try
        {
            foreach (var indices in _work.GetConsumingEnumerable(_stop.Token))
            {
                Prepared prepared;
                try
                {
                    Batch batch;
                    lock (_gate) batch = _data.GetBatch(indices);
                    batch.Input.DetachFromDisposeScope();
                    batch.Target.DetachFromDisposeScope();
                    prepared = new Prepared(batch, null);
                }
                catch (Exception e)
                {
                    // Thrown where the batch is taken, on the reader's thread, as if it had read the batch itself.
                    prepared = new Prepared(null, ExceptionDispatchInfo.Capture(e));
                }
                _ready.Add(prepared);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _work.CompleteAdding();
        _thread.Join();
        while (_ready.TryTake(out var prepared)) prepared.Batch?.Dispose();
        _plan.Dispose();
        _work.Dispose();
        _ready.Dispose();
        _stop.Dispose();
    }
}
