using TrainManager.Protocol;

namespace TrainManager.Node.Workers;

/// <summary>
/// The reports of one run attempt that the coordinator has not yet said it persisted, in the order they happened. A
/// report gets the next sequence number when it is added and stays until an acknowledgement covers it; what is left is
/// sent again, oldest first, after a delay that starts at <see cref="FirstRetry"/> and doubles up to
/// <see cref="LastRetry"/> while nothing is acknowledged. A worker has one outbox and starts it afresh per attempt,
/// and it takes no new run while its outbox holds anything: the memory is one run's unacknowledged reports at most.
/// </summary>
public sealed class ReportOutbox
{
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    /// <summary>How many reports one retry sends: the coordinator takes them in order, so the oldest are the ones
    /// it needs; the rest follow once those are acknowledged.</summary>
    public const int RetryWindow = 64;

    readonly List<ISequencedReport> _unacknowledged = [];
    long _lastSeq;

    public string? RunId { get; private set; }
    public int Attempt { get; private set; }

    /// <summary>How long to wait before the next retry.</summary>
    public TimeSpan RetryDelay { get; private set; } = FirstRetry;

    public bool IsEmpty => _unacknowledged.Count == 0;

    public int Count => _unacknowledged.Count;

    /// <summary>A new attempt: numbering starts again at 1. Whatever an earlier attempt left is dropped.</summary>
    public void Begin(string runId, int attempt)
    {
        RunId = runId;
        Attempt = attempt;
        _lastSeq = 0;
        _unacknowledged.Clear();
        RetryDelay = FirstRetry;
    }

    /// <summary>Numbers <paramref name="report"/> and keeps it until acknowledged; returns the numbered report to send.</summary>
    public ISequencedReport Add(ISequencedReport report)
    {
        if (RunId is null || report.RunId != RunId)
            throw new InvalidOperationException($"The outbox is for run {RunId ?? "(none)"}, not {report.RunId}.");
        var numbered = report.WithSequence(Attempt, ++_lastSeq);
        _unacknowledged.Add(numbered);
        return numbered;
    }

    /// <summary>Forgets every report up to <paramref name="seq"/> of the attempt; returns whether any was forgotten.</summary>
    public bool Acknowledge(string runId, int attempt, long seq)
    {
        if (runId != RunId || attempt != Attempt)
            return false;
        var removed = _unacknowledged.RemoveAll(r => r.Seq <= seq);
        if (removed > 0)
            RetryDelay = FirstRetry;
        return removed > 0;
    }

    /// <summary>The oldest unacknowledged reports, to send again now; the delay before the next retry doubles.</summary>
    public IReadOnlyList<ISequencedReport> DueForRetry()
    {
        var due = _unacknowledged.Take(RetryWindow).ToList();
        RetryDelay = TimeSpan.FromTicks(Math.Min(RetryDelay.Ticks * 2, LastRetry.Ticks));
        return due;
    }
}
