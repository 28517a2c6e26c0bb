using System.Net;
using System.Threading.Channels;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;unix-time&gt;.&lt;hostname&gt;</c>) without ever making the
/// caller wait for the disk: <c>Add*</c> only enqueue, a background task encodes, writes and flushes periodically.
/// <see cref="Flush"/> and disposal wait until everything enqueued so far is in the file.
/// Safe to call from several threads.
/// </summary>
public sealed class EventFileWriter : IAsyncDisposable, IDisposable
{
    private readonly Channel<PendingEvent> _queue =
        Channel.CreateUnbounded<PendingEvent>(new UnboundedChannelOptions { SingleReader = true });

    private readonly EventFileWriterOptions _options;
    private readonly FileStream _file;
    private readonly TfRecordWriter _records;
    private readonly Task _consumer;
    private volatile Exception? _failure;
    private int _disposed;

    // Owned by the background consumer only.
    private bool _unflushed;
    private long _lastFlush = TimeProvider.System.GetTimestamp();

    public EventFileWriter(string logDirectory, EventFileWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDirectory);
        _options = options ?? new EventFileWriterOptions();
        if (_options.FlushInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), _options.FlushInterval, "FlushInterval must be positive.");

        Directory.CreateDirectory(logDirectory);
        _file = CreateEventFile(logDirectory, out var path);
        FilePath = path;
        _records = new TfRecordWriter(_file);
        try
        {
            // Written before the consumer starts, so the file is a valid (empty) run from the moment it exists.
            _records.Write(TensorBoardEventEncoder.FileVersionEvent(WallTimeNow()).WrittenSpan);
            _file.Flush();
        }
        catch
        {
            _file.Dispose();
            throw;
        }

        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>Full path of the event file.</summary>
    public string FilePath { get; }

    /// <summary>Queues a scalar (<c>Summary.Value.simple_value</c>, stored as float32 as TensorBoard expects).</summary>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        Enqueue(new PendingScalar(tag, (float)value, step, WallTimeNow()));
    }

    /// <summary>Queues a histogram of <paramref name="values"/> using the writer's default binning.</summary>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step) =>
        AddHistogram(tag, values, step, _options.HistogramBinning);

    /// <summary>Queues a histogram of <paramref name="values"/>; the values are copied, so the span may be reused at once.</summary>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step, HistogramBinning binning)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        ArgumentNullException.ThrowIfNull(binning);
        var pending = PendingHistogram.Copy(tag, values, step, WallTimeNow(), binning);
        try
        {
            Enqueue(pending);
        }
        catch
        {
            pending.ReturnBuffer();
            throw;
        }
    }

    /// <summary>Blocks until every event queued before this call is written and flushed to the file.</summary>
    public void Flush() => FlushAsync().GetAwaiter().GetResult();

    /// <summary>Completes when every event queued before this call is written and flushed to the file.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new PendingFlush(completion));
        return completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;

        _queue.Writer.TryComplete();
        try
        {
            await _consumer.ConfigureAwait(false);
        }
        finally
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }

        ThrowIfFailed();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private void Enqueue(PendingEvent pending)
    {
        ThrowIfFailed();
        if (_queue.Writer.TryWrite(pending))
            return;
        ThrowIfFailed(); // the queue is also closed when the background writer fails; that is the better explanation
        throw new ObjectDisposedException(nameof(EventFileWriter), $"The event file {FilePath} is already closed.");
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
            throw new IOException($"Writing TensorBoard events to {FilePath} failed: {failure.Message}", failure);
    }

    private async Task ConsumeAsync()
    {
        var reader = _queue.Reader;
        Task<bool>? nextItem = null;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var pending))
                    Handle(pending);

                if (_unflushed && UntilPeriodicFlush() <= TimeSpan.Zero)
                    FlushFile();

                // Wait for the next event, but no longer than the flush deadline of what is already written.
                nextItem ??= reader.WaitToReadAsync().AsTask();
                if (_unflushed && !await ArrivesWithin(nextItem, UntilPeriodicFlush()).ConfigureAwait(false))
                {
                    FlushFile();
                    continue;
                }

                if (!await nextItem.ConfigureAwait(false))
                    break;
                nextItem = null;
            }

            FlushFile();
        }
        catch (Exception exception)
        {
            _failure = exception;
            // Nobody will write any more; release what is still queued so Flush callers and pooled buffers are not stranded.
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var pending))
                Abandon(pending, exception);
        }
    }

    private void Handle(PendingEvent pending)
    {
        switch (pending)
        {
            case PendingScalar scalar:
                _records.Write(TensorBoardEventEncoder
                    .ScalarEvent(scalar.WallTime, scalar.Step, scalar.Tag, scalar.Value).WrittenSpan);
                _unflushed = true;
                break;

            case PendingHistogram histogram:
                try
                {
                    var summary = HistogramSummary.Compute(histogram.Values.AsSpan(0, histogram.Length), histogram.Binning);
                    _records.Write(TensorBoardEventEncoder
                        .HistogramEvent(histogram.WallTime, histogram.Step, histogram.Tag, summary).WrittenSpan);
                }
                finally
                {
                    histogram.ReturnBuffer();
                }

                _unflushed = true;
                break;

            case PendingFlush flush:
                FlushFile();
                flush.Completion.TrySetResult();
                break;

            default:
                throw new InvalidOperationException($"Unknown queued event {pending.GetType().Name}.");
        }
    }

    private void FlushFile()
    {
        _file.Flush();
        _unflushed = false;
        _lastFlush = TimeProvider.System.GetTimestamp();
    }

    private TimeSpan UntilPeriodicFlush() => _options.FlushInterval - TimeProvider.System.GetElapsedTime(_lastFlush);

    private static void Abandon(PendingEvent pending, Exception failure)
    {
        switch (pending)
        {
            case PendingHistogram histogram:
                histogram.ReturnBuffer();
                break;
            case PendingFlush flush:
                flush.Completion.TrySetException(failure);
                break;
        }
    }

    private static async Task<bool> ArrivesWithin(Task<bool> nextItem, TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
            return nextItem.IsCompleted;

        using var cancelDelay = new CancellationTokenSource();
        var delay = Task.Delay(timeout, cancelDelay.Token);
        var first = await Task.WhenAny(nextItem, delay).ConfigureAwait(false);
        await cancelDelay.CancelAsync().ConfigureAwait(false);
        return first == nextItem;
    }

    private static FileStream CreateEventFile(string logDirectory, out string path)
    {
        var baseName = $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Dns.GetHostName()}";
        // Two writers started in the same second in the same directory must not share (and clobber) a file.
        for (var attempt = 0; ; attempt++)
        {
            path = Path.Combine(logDirectory, attempt == 0 ? baseName : $"{baseName}.{attempt}");
            try
            {
                return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            }
            catch (IOException) when (File.Exists(path) && attempt < 1000)
            {
            }
        }
    }

    private static double WallTimeNow() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}
