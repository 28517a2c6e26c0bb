namespace TrainManager.Protocol;

/// <summary>Where an experiment stands. <see cref="Finished"/>, <see cref="Failed"/> and <see cref="Cancelled"/> are final.</summary>
public enum RunStatus
{
    Queued,
    Scheduled,
    Running,
    Finished,
    Failed,
    Cancelled,
}

public static class RunStatusExtensions
{
    public static bool IsFinal(this RunStatus status) => status is RunStatus.Finished or RunStatus.Failed or RunStatus.Cancelled;
}

/// <summary>Submit an experiment. The coordinator names the run and answers <see cref="SubmitAccepted"/> or
/// <see cref="SubmitRejected"/>.</summary>
/// <param name="RunsRoot">Must be null: a submission that names a runs root is rejected, since where a run is written is
/// the worker node's decision (kept in the protocol so an older client is told so rather than silently ignored).</param>
/// <param name="SubmittedFrom">What the client says of itself (user@host); the coordinator records it as claimed, beside
/// the identity the connection proved.</param>
/// <param name="Bundle">The bundle of the experiment's own training project (<c>code.project</c>), already offered and held
/// by the coordinator (<see cref="OfferBundle"/>); null when it uses only the framework's components.</param>
/// <param name="Data">The fingerprint of the experiment's data on the submitting machine: a node whose copy differs
/// refuses the run. Null: not measured (the data is not on the submitting machine).</param>
public sealed record SubmitExperiment(
    string Name,
    string ExperimentHocon,
    string InstantiationJson,
    ProvenanceSummary Provenance,
    string Device,
    string? RunsRoot,
    string SubmittedFrom,
    CheckpointRecord? ResumeFrom = null,
    string? SourceFile = null,
    BundleRef? Bundle = null,
    TrainManager.Data.DatasetFingerprint? Data = null) : IClusterMessage;

/// <param name="QueuePosition">How many experiments wait before it (0: it is placed next).</param>
/// <param name="MatchingSlots">How many slots in the cluster can run its device now, busy or not; 0 means it waits
/// until a node that offers one joins.</param>
public sealed record SubmitAccepted(string RunId, int QueuePosition, int MatchingSlots) : IClusterMessage;

public sealed record SubmitRejected(string Reason) : IClusterMessage;

/// <summary>Ask for every run the coordinator knows, newest first: answered with <see cref="RunList"/>.</summary>
public sealed record ListRuns : IClusterMessage
{
    public static ListRuns Instance { get; } = new();
}

/// <summary>One line of <c>trainmanager runs</c>.</summary>
public sealed record RunSummary(
    string RunId,
    string Name,
    RunStatus Status,
    DateTimeOffset SubmittedAt,
    DateTimeOffset UpdatedAt,
    SlotAddress? Slot,
    int EpochsDone,
    int Epochs,
    string? Detail,
    int Workers = 1);

public sealed record RunList(IReadOnlyList<RunSummary> Runs, int FreeSlots, int TotalSlots) : IClusterMessage;

/// <summary>Ask for one run: answered with <see cref="RunDetails"/> or <see cref="RunNotFound"/>. A unique prefix of the run id
/// is enough.</summary>
public sealed record GetRun(string RunId) : IClusterMessage;

/// <summary>A run's summary, its whole history, and its checkpoints (oldest first).</summary>
public sealed record RunDetails(RunSummary Summary, IReadOnlyList<IExperimentEvent> History, IReadOnlyList<CheckpointRecord> Checkpoints,
    string? RunDirectory, string ExperimentHocon) : IClusterMessage;

public sealed record RunNotFound(string RunId, string Reason) : IClusterMessage;

/// <summary>Cancel a run; answered with <see cref="CancelAccepted"/>, <see cref="CancelRefused"/> or <see cref="RunNotFound"/>.</summary>
public sealed record CancelRun(string RunId, string Reason) : IClusterMessage;

public sealed record CancelAccepted(string RunId, RunStatus WasStatus) : IClusterMessage;

public sealed record CancelRefused(string RunId, string Reason) : IClusterMessage;

/// <summary>Follow a run: the sender gets <see cref="RunDetails"/> now, then a <see cref="RunEventNotice"/> per event and
/// <see cref="RunProgress"/> while it trains, until it ends or the sender sends <see cref="UnfollowRun"/> or stops.</summary>
public sealed record FollowRun(string RunId) : IClusterMessage;

public sealed record UnfollowRun(string RunId) : IClusterMessage;

public sealed record RunEventNotice(string RunId, IExperimentEvent Event) : IClusterMessage;

/// <summary>The last message a follower gets: nothing more will happen to the run. For a cancelled run it comes once the
/// worker has stopped (and written its last checkpoint), with the numbers it stopped at.</summary>
public sealed record RunEnded(string RunId, RunStatus Status, TrainingOutcome? Outcome, string? Reason, FailureKind? FailureKind,
    string? ErrorFile, string? RunDirectory) : IClusterMessage;

/// <summary>Live progress of a training run, a few times a second; not journaled (the epochs are).</summary>
public sealed record RunProgress(
    string RunId,
    int Epoch,
    int Epochs,
    int BatchIndex,
    int BatchesPerEpoch,
    double Loss,
    long SamplesThisEpoch) : IClusterMessage;
