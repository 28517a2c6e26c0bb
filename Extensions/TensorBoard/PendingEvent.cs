using System.Buffers;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>Work handed from the training thread to the event file's background writer.</summary>
internal abstract record PendingEvent;

internal sealed record PendingScalar(string Tag, float Value, long Step, double WallTime) : PendingEvent;

/// <summary>
/// A copy of the caller's values in a pooled buffer: copying is all the caller pays for; binning happens in the background.
/// </summary>
internal sealed record PendingHistogram(string Tag, float[] Values, int Length, long Step, double WallTime, HistogramBinning Binning)
    : PendingEvent
{
    public static PendingHistogram Copy(string tag, ReadOnlySpan<float> values, long step, double wallTime, HistogramBinning binning)
    {
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(values.Length, 1));
        values.CopyTo(buffer);
        return new PendingHistogram(tag, buffer, values.Length, step, wallTime, binning);
    }

    public void ReturnBuffer() => ArrayPool<float>.Shared.Return(Values);
}

/// <summary>Completed once everything queued before it has been written and flushed.</summary>
internal sealed record PendingFlush(TaskCompletionSource Completion) : PendingEvent;
