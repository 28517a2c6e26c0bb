using System.Diagnostics;
using System.Diagnostics.Tracing;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Testing;

/// <summary>How many TorchSharp objects the finalizer freed while a <see cref="NativeFinalizations"/> watched: each was
/// made and never disposed, so it was owned by no dispose scope and no <c>using</c>, and could as well have been freed
/// while libtorch still used it.</summary>
public sealed record FinalizedNativeObjects(int Scalars, int Tensors, int Generators = 0)
{
    public override string ToString() =>
        $"{Scalars} Scalar(s), {Tensors} tensor(s) and {Generators} generator handle(s) freed by the finalizer instead of disposed";
}

/// <summary>
/// Counts the TorchSharp Scalars and tensors the garbage collector finalizes while some code runs, from the runtime's
/// own events: a deterministic check of what <see cref="GarbageCollectionStress"/> shows only by chance. Code that owns
/// every native object it makes (dispose scopes, explicit Scalars kept in a <c>using</c>) finalizes none.
/// <code>using var watch = NativeFinalizations.Watch();
/// trainer.Fit();
/// Assert.Equal(new FinalizedNativeObjects(0, 0), watch.Stop());</code>
/// The count is process-wide: run it where no other test allocates TorchSharp objects at the same time.
/// </summary>
public sealed class NativeFinalizations : IDisposable
{
    static readonly long ScalarType = typeof(Scalar).TypeHandle.Value;
    static readonly long TensorType = typeof(Tensor).TypeHandle.Value;
    static readonly long ParameterType = typeof(TorchSharp.Modules.Parameter).TypeHandle.Value;
    static readonly long GeneratorType = typeof(Generator).TypeHandle.Value;

    readonly Listener _listener = new();

    NativeFinalizations() { }

    /// <summary>Frees what earlier code left to the finalizer, then starts counting.</summary>
    public static NativeFinalizations Watch()
    {
        var watch = new NativeFinalizations();
        FinalizeEverythingUnreachable();
        watch._listener.WaitForQuiet();
        watch._listener.Counting = true;
        return watch;
    }

    /// <summary>Finalizes what the watched code left unreachable, stops counting and returns the counts.</summary>
    public FinalizedNativeObjects Stop()
    {
        FinalizeEverythingUnreachable();
        _listener.WaitForQuiet();
        _listener.Counting = false;
        return new FinalizedNativeObjects(_listener.Count(ScalarType), _listener.Count(TensorType) + _listener.Count(ParameterType),
            _listener.Count(GeneratorType));
    }

    static void FinalizeEverythingUnreachable()
    {
        // A finalizer can make more objects unreachable (a tensor holding others): a few rounds.
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The runtime's FinalizeObject events (GC keyword, verbose), by the finalized object's type.</summary>
    sealed class Listener : EventListener
    {
        const EventKeywords GarbageCollection = (EventKeywords)0x1;
        readonly Dictionary<long, int> _counts = new();
        long _events;
        public volatile bool Counting;

        public int Count(long type)
        {
            lock (_counts) return _counts.GetValueOrDefault(type);
        }

        /// <summary>Events arrive on a dispatch thread some time after they happen: wait until none has come for a while.</summary>
        public void WaitForQuiet()
        {
            var deadline = Stopwatch.StartNew();
            var seen = Interlocked.Read(ref _events);
            do
            {
                Thread.Sleep(250);
                var now = Interlocked.Read(ref _events);
                if (now == seen && deadline.Elapsed > TimeSpan.FromMilliseconds(750)) return;
                seen = now;
            } while (deadline.Elapsed < TimeSpan.FromSeconds(10));
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, EventLevel.Verbose, GarbageCollection);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            Interlocked.Increment(ref _events);
            if (!Counting || e.EventName != "FinalizeObject" || e.Payload is not [IntPtr type, ..]) return;
            lock (_counts) _counts[(long)type] = _counts.GetValueOrDefault((long)type) + 1;
        }
    }
}
