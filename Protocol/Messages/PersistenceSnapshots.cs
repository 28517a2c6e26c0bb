namespace TrainManager.Protocol;

/// <summary>
/// An experiment's state at one sequence number of its journal. The coordinator saves one every
/// <c>trainmanager.scheduler.snapshot-every</c> events and when the run ends, so a recovery reads the newest snapshot
/// and the events after it instead of the whole journal. It carries the run's history too (what <c>logs</c> prints),
/// so nothing a client can ask needs the events before it; those events stay in the journal all the same.
/// </summary>
/// <param name="HandledSeq">The last numbered worker report handled, per attempt: a report sent again after the
/// snapshot is acknowledged, not journaled twice.</param>
public sealed record ExperimentSnapshot(
    string RunId,
    ExperimentSubmitted? Submitted,
    RunStatus Status,
    SlotAddress? Slot,
    IReadOnlyList<SlotAddress> Ranks,
    int Attempt,
    string? RunDirectory,
    int EpochsDone,
    IReadOnlyDictionary<string, double>? LastMetrics,
    IReadOnlyList<CheckpointRecord> Checkpoints,
    TrainingOutcome? Outcome,
    string? Reason,
    FailureKind? FailureKind,
    string? ErrorFile,
    IReadOnlyList<IExperimentEvent> History,
    DateTimeOffset UpdatedAt,
    IReadOnlyDictionary<int, long> HandledSeq) : IClusterMessage;

/// <summary>The coordinator's index of ended runs gained (or updated) one: what <c>trainmanager runs</c> shows of it, so
/// a restarted coordinator lists the run without recovering its experiment.</summary>
public sealed record RunIndexed(RunSummary Summary) : IClusterMessage;

/// <summary>The whole index of ended runs at one sequence number of its journal.</summary>
public sealed record RunIndexSnapshot(IReadOnlyList<RunSummary> Runs) : IClusterMessage;
