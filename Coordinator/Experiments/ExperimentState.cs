using System.Collections.Immutable;
using System.Globalization;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Experiments;

/// <summary>
/// An experiment as its events describe it. Pure: <see cref="Apply"/> is the only way it changes, the same on a live
/// event and on replay, so a recovered experiment is exactly the one that was running.
/// </summary>
public sealed record ExperimentState
{
    public required string RunId { get; init; }
    public ExperimentSubmitted? Submitted { get; init; }
    public RunStatus Status { get; init; } = RunStatus.Queued;
    public SlotAddress? Slot { get; init; }
    /// <summary>The slots of the current placement, by rank (one for a run with one worker); empty while queued.</summary>
    public ImmutableList<SlotAddress> Ranks { get; init; } = [];
    public int Attempt { get; init; }
    public string? RunDirectory { get; init; }
    public int EpochsDone { get; init; }
    public IReadOnlyDictionary<string, double>? LastMetrics { get; init; }
    public ImmutableList<CheckpointRecord> Checkpoints { get; init; } = [];
    public TrainingOutcome? Outcome { get; init; }
    /// <summary>Why it failed, was cancelled, or last lost its slot.</summary>
    public string? Reason { get; init; }
    public FailureKind? FailureKind { get; init; }
    public string? ErrorFile { get; init; }
    public ImmutableList<IExperimentEvent> History { get; init; } = [];
    public DateTimeOffset UpdatedAt { get; init; }

    public static ExperimentState Empty(string runId) => new() { RunId = runId };

    public bool IsSubmitted => Submitted is not null;

    public ExperimentState Apply(IExperimentEvent e)
    {
        var next = this with { History = History.Add(e), UpdatedAt = e.At };
        return e switch
        {
            ExperimentSubmitted s => next with { Submitted = s, Status = RunStatus.Queued },
            ExperimentScheduled s => next with { Status = RunStatus.Scheduled, Slot = s.Slot, Attempt = s.Attempt, Ranks = [.. s.Ranks] },
            WorkerLost => next,
            ExperimentStarted s => next with
            {
                Status = RunStatus.Running, Slot = s.Slot, RunDirectory = s.RunDirectory,
                // A resume from an earlier checkpoint repeats the epochs after it.
                EpochsDone = s.ResumedFrom is { } from ? from.Epoch + 1 : 0,
            },
            EpochCompleted c => next with { EpochsDone = Math.Max(EpochsDone, c.Epoch + 1), LastMetrics = c.Metrics },
            CheckpointSaved c => next with { Checkpoints = Checkpoints.Add(c.Checkpoint) },
            ExperimentFinished f => next with { Status = RunStatus.Finished, Outcome = f.Outcome, EpochsDone = f.Outcome.Epochs },
            ExperimentFailed f => next with { Status = RunStatus.Failed, Reason = f.Reason, FailureKind = f.Kind, ErrorFile = f.ErrorFile },
            ExperimentCancelled c => next with { Status = RunStatus.Cancelled, Reason = c.Reason },
            ExperimentRequeued r => next with { Status = RunStatus.Queued, Slot = null, Ranks = [], Reason = r.Reason },
            _ => throw new ArgumentException($"Unknown experiment event {e.GetType().Name}.", nameof(e)),
        };
    }

    /// <summary>The state as a snapshot the journal keeps; <paramref name="handledSeq"/> is the actor's bookkeeping of
    /// numbered reports, which the events also say but a snapshot must carry past them.</summary>
    public ExperimentSnapshot ToSnapshot(IReadOnlyDictionary<int, long> handledSeq) => new(
        RunId, Submitted, Status, Slot, Ranks, Attempt, RunDirectory, EpochsDone, LastMetrics, Checkpoints, Outcome, Reason,
        FailureKind, ErrorFile, History, UpdatedAt, new Dictionary<int, long>(handledSeq));

    /// <summary>The state a snapshot describes: the same as applying the events it was taken after.</summary>
    public static ExperimentState FromSnapshot(ExperimentSnapshot snapshot) => new()
    {
        RunId = snapshot.RunId,
        Submitted = snapshot.Submitted,
        Status = snapshot.Status,
        Slot = snapshot.Slot,
        Ranks = [.. snapshot.Ranks],
        Attempt = snapshot.Attempt,
        RunDirectory = snapshot.RunDirectory,
        EpochsDone = snapshot.EpochsDone,
        LastMetrics = snapshot.LastMetrics,
        Checkpoints = [.. snapshot.Checkpoints],
        Outcome = snapshot.Outcome,
        Reason = snapshot.Reason,
        FailureKind = snapshot.FailureKind,
        ErrorFile = snapshot.ErrorFile,
        History = [.. snapshot.History],
        UpdatedAt = snapshot.UpdatedAt,
    };

    /// <summary>The checkpoints a resume may use, newest first; the one it was submitted to start from comes last.</summary>
    public IReadOnlyList<CheckpointRecord> ResumeCandidates =>
        Checkpoints.OrderByDescending(c => c.Step).ThenByDescending(c => c.Epoch)
            .Concat(Submitted?.ResumeFrom is { } initial ? [initial] : [])
            .ToList();

    string Wanted()
    {
        var kind = DeviceKinds.Of(Submitted?.Device ?? "cpu");
        var group = Submitted?.WorkerGroup ?? WorkerGroupSpec.Single;
        return group.Workers == 1 ? $"a {kind} slot"
            : group.MinWorkers == group.Workers ? $"{group.Workers} {kind} slots"
            : $"{group.Workers} {kind} slots (or {group.MinWorkers} after {group.ReplacementWait.TotalSeconds:0.#} s)";
    }

    public RunSummary Summary() => new(
        RunId,
        Submitted?.Name ?? "?",
        Status,
        Submitted?.At ?? UpdatedAt,
        UpdatedAt,
        Slot,
        EpochsDone,
        Submitted?.Epochs ?? 0,
        Detail(),
        Ranks.Count > 0 ? Ranks.Count : Submitted?.WorkerGroup.Workers ?? 1);

    string? Detail() => Status switch
    {
        RunStatus.Failed or RunStatus.Cancelled => Reason,
        RunStatus.Queued when Reason is not null => $"waiting for {Wanted()} (last: {Reason})",
        RunStatus.Queued => $"waiting for {Wanted()}",
        RunStatus.Finished when HeadlineMetric.Of(Outcome?.FinalMetrics) is { } final => HeadlineMetric.Text(final.Key, final.Value),
        RunStatus.Running when HeadlineMetric.Of(LastMetrics) is { } last =>
            string.Create(CultureInfo.InvariantCulture, $"{HeadlineMetric.Text(last.Key, last.Value)} after epoch {EpochsDone}"),
        _ => null,
    };
}

/// <summary>Which slots can run which experiments: a <c>cpu</c> experiment runs on a <c>cpu</c> slot, a <c>cuda</c> or
/// <c>cuda:N</c> one on any <c>cuda:N</c> slot (the slot's own index is used).</summary>
public static class DeviceKinds
{
    public static string Of(string device)
    {
        var colon = device.IndexOf(':');
        return (colon < 0 ? device : device[..colon]).Trim().ToLowerInvariant();
    }

    public static bool CanRun(string slotDevice, string experimentDevice) => Of(slotDevice) == Of(experimentDevice);
}
