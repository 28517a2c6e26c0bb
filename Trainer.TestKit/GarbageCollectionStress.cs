namespace TrainManager.Testing;

/// <summary>
/// Makes garbage collections and finalizers run all the time, on other threads, while the code under test runs: the
/// conditions under which a native object that nothing managed keeps alive (a TorchSharp <c>Scalar</c> made by an
/// implicit conversion, a tensor outside any dispose scope) is freed by the finalizer thread while native code still
/// uses it. On an idle machine that takes hours to show; under this stress, seconds.
/// <code>using (GarbageCollectionStress.Start()) trainer.Fit();</code>
/// </summary>
public sealed class GarbageCollectionStress : IDisposable
{
    readonly CancellationTokenSource _stop = new();
    readonly Thread[] _threads;
    long _collections;

    readonly TimeSpan _pause;

    GarbageCollectionStress(int allocators, TimeSpan pause)
    {
        _pause = pause;
        _threads = new Thread[allocators + 1];
        // One thread forces young collections back to back and runs the finalizers they queue, as a busy process would
        // (actors, logging, extensions allocating beside the training thread).
        _threads[0] = new Thread(Collect) { IsBackground = true, Name = "gc-stress collector" };
        for (var i = 1; i < _threads.Length; i++)
            _threads[i] = new Thread(Allocate) { IsBackground = true, Name = $"gc-stress allocator {i}" };
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>Starts the stress; dispose the result to stop it.</summary>
    /// <param name="allocators">Threads that allocate short-lived garbage besides the one that forces collections.</param>
    /// <param name="pause">How long the collecting thread waits between two forced collections (default 1 ms): back
    /// to back they would stop the code under test most of the time, and a run would take ten times as long.</param>
    public static GarbageCollectionStress Start(int allocators = 1, TimeSpan? pause = null) =>
        new(Math.Max(0, allocators), pause ?? TimeSpan.FromMilliseconds(1));

    /// <summary>How many collections the stress forced so far.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    void Collect()
    {
        while (!_stop.IsCancellationRequested)
        {
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            Interlocked.Increment(ref _collections);
            if (_pause > TimeSpan.Zero) _stop.Token.WaitHandle.WaitOne(_pause);
        }
    }

    void Allocate()
    {
        var keep = new object[64];
        var i = 0;
        while (!_stop.IsCancellationRequested)
        {
            // Short-lived, with a few survivors, so collections have real work and gen0 fills on its own too.
            keep[i++ & 63] = new byte[256 + (i & 1023)];
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var thread in _threads) thread.Join();
        _stop.Dispose();
    }
}
