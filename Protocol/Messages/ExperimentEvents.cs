namespace TrainManager.Protocol;

/// <summary>
/// What happened to an experiment, as written to the journal. The events of one run, in order, are its whole history:
/// the coordinator rebuilds every experiment from them after a restart, and <c>trainmanager logs RUN</c> prints them.
/// Each carries the time it happened; none carries an actor reference.
/// </summary>
public interface IExperimentEvent : IClusterMessage
{
    DateTimeOffset At { get; }
}

/// <summary>An event written for a worker's <see cref="ISequencedReport"/>: it keeps the report's attempt and sequence
/// number, so a coordinator recovered from the journal knows which reports it already has (a report sent again is
/// acknowledged, not written twice). Both are 0 in events of unsequenced reports and of older versions.</summary>
public interface ISequencedEvent : IExperimentEvent
{
    int Attempt { get; }
    long Seq { get; }
}

/// <summary>The experiment was accepted: everything needed to run it again anywhere.</summary>
/// <param name="ExperimentHocon">The resolved experiment (every default spelled out, overrides applied).</param>
/// <param name="InstantiationJson">The instantiation parameters: resolved model spec, optimizer, scheduler, data, seed.</param>
/// <param name="Provenance">The code the submitter's working tree held.</param>
/// <param name="Device">The device the experiment asks for; a slot of the same kind runs it.</param>
/// <param name="RunsRoot">Set only in journals of versions that let a submission choose; ignored: a run directory is
/// always under the worker node's own runs directory.</param>
/// <param name="SubmittedFrom">Who the client says it is (user@host): a claim, kept for the history.</param>
/// <param name="ResumeFrom">A checkpoint from an earlier run to start from (<c>--resume</c>), verified by its checksum.</param>
/// <param name="SourceFile">The experiment file on the submitter's machine (where the provenance extension looks for the code).</param>
/// <param name="Group">How many workers it trains on (null in events written before data-parallel runs: one).</param>
/// <param name="ProvenBy">What the submitting connection proved: the cluster secret it knew (by key id) and the member
/// address it came from; null in events written before connections were authenticated.</param>
/// <param name="Bundle">The bundle of the user's training project the run trains with (every attempt, every rank); the
/// coordinator keeps it while the run may still need it. Null: the framework's components only.</param>
/// <param name="Data">The fingerprint of the data on the submitting machine, which every node's copy must match.</param>
public sealed record ExperimentSubmitted(
    string RunId,
    DateTimeOffset At,
    string Name,
    int Epochs,
    string ExperimentHocon,
    string InstantiationJson,
    ProvenanceSummary Provenance,
    string Device,
    string? RunsRoot,
    string SubmittedFrom,
    CheckpointRecord? ResumeFrom,
    string? SourceFile = null,
    WorkerGroupSpec? Group = null,
    string? ProvenBy = null,
    BundleRef? Bundle = null,
    TrainManager.Data.DatasetFingerprint? Data = null) : IExperimentEvent
{
    public WorkerGroupSpec WorkerGroup => Group ?? WorkerGroupSpec.Single;
}

/// <summary>The scheduler placed the experiment on a slot (attempt 1 is the first placement, later ones are resumes).
/// A data-parallel run gets one slot per rank: <paramref name="Workers"/>[r] is rank r, and <paramref name="Slot"/> is
/// rank 0. Each placement of such a run is a new ring: the membership the journal keeps.</summary>
public sealed record ExperimentScheduled(DateTimeOffset At, SlotAddress Slot, int Attempt, IReadOnlyList<SlotAddress>? Workers = null) : IExperimentEvent
{
    public IReadOnlyList<SlotAddress> Ranks => Workers is { Count: > 0 } workers ? workers : [Slot];
}

/// <summary>A rank of a data-parallel run left its ring: its node died, left, or stopped answering. The ranks that are
/// still alive stop, and the run is placed again with the live workers from its last checkpoint.</summary>
public sealed record WorkerLost(DateTimeOffset At, int Attempt, int Rank, SlotAddress Slot, string Reason) : IExperimentEvent;

/// <summary>A worker began training: in <paramref name="RunDirectory"/>, from scratch or from <paramref name="ResumedFrom"/>.</summary>
public sealed record ExperimentStarted(
    DateTimeOffset At,
    SlotAddress Slot,
    string RunDirectory,
    CheckpointRecord? ResumedFrom,
    IReadOnlyList<RejectedCheckpoint> RejectedCheckpoints,
    int Attempt = 0,
    long Seq = 0) : ISequencedEvent;

/// <summary>An epoch ended with these metrics (train and test loss, accuracy, learning rate, speed).</summary>
public sealed record EpochCompleted(DateTimeOffset At, int Epoch, IReadOnlyDictionary<string, double> Metrics, int Attempt = 0, long Seq = 0)
    : ISequencedEvent;

/// <summary>A checkpoint was written where any node can read it.</summary>
public sealed record CheckpointSaved(DateTimeOffset At, CheckpointRecord Checkpoint, int Attempt = 0, long Seq = 0)
    : ISequencedEvent;

/// <summary>The training ran to its end (or stopped early by its own rule, e.g. an extension that stops it).</summary>
public sealed record ExperimentFinished(DateTimeOffset At, TrainingOutcome Outcome, int Attempt = 0, long Seq = 0)
    : ISequencedEvent;

/// <summary>The training failed; <paramref name="Reason"/> is written for the person who reads it, the stack trace is
/// in <paramref name="ErrorFile"/> (in the run directory) when there is one.</summary>
public sealed record ExperimentFailed(DateTimeOffset At, string Reason, FailureKind Kind, string? ErrorFile, int Attempt = 0, long Seq = 0)
    : ISequencedEvent;

/// <summary>Whose mistake a failure was: the experiment's (fix the input and submit again) or the run's.</summary>
public enum FailureKind
{
    /// <summary>The run broke: a bug, a broken machine, a failing extension.</summary>
    RunFailed,
    /// <summary>Something the user gave cannot be used (data not found, a corrupt checkpoint, bad settings).</summary>
    BadInput,
}

/// <summary>Someone cancelled it (<c>trainmanager cancel</c>, Ctrl+C on an embedded run).</summary>
public sealed record ExperimentCancelled(DateTimeOffset At, string Reason) : IExperimentEvent;

/// <summary>It lost its slot (the node left, crashed, or handed the work back) and waits for another; the next
/// placement resumes from the newest checkpoint.</summary>
public sealed record ExperimentRequeued(DateTimeOffset At, string Reason) : IExperimentEvent;
