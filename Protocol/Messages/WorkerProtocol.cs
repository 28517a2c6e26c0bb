using Akka.Actor;

namespace TrainManager.Protocol;

/// <summary>A node tells the scheduler which slots it offers and what each is running now (null: free). Sent when the
/// node starts and whenever the scheduler asks (<see cref="ReportSlots"/>), so a restarted scheduler learns which runs
/// are still alive on which slot.</summary>
public sealed record RegisterSlots(string Node, IReadOnlyList<SlotRegistration> Slots) : IClusterMessage;

public sealed record SlotRegistration(IActorRef Slot, SlotAddress Address, string? RunId);

/// <summary>The scheduler asks a node to (re-)send <see cref="RegisterSlots"/>.</summary>
public sealed record ReportSlots : IClusterMessage
{
    public static ReportSlots Instance { get; } = new();
}

/// <summary>Train a run on this slot. <paramref name="ResumeCandidates"/> are the run's checkpoints from the journal,
/// newest first: the worker resumes from the newest one whose checksum still matches.</summary>
/// The run directory is always under the worker node's own runs directory: nothing a client sends can move it.
/// <param name="Bundle">The user's training project the run is built from: the node fetches it from the coordinator
/// (<see cref="FetchBundle"/>) unless it has it cached, and loads it for this run alone.</param>
/// <param name="Data">The data's fingerprint on the submitting machine: the node refuses the run when its copy differs.</param>
/// <param name="Collective">This slot's place in the gradient exchange of a data-parallel run; null when the run has one worker.</param>
public sealed record StartTraining(
    string RunId,
    string ExperimentHocon,
    IReadOnlyList<CheckpointRecord> ResumeCandidates,
    int Attempt,
    string? SourceFile = null,
    CollectiveAssignment? Collective = null,
    BundleRef? Bundle = null,
    TrainManager.Data.DatasetFingerprint? Data = null) : IClusterMessage;

/// <summary>
/// One rank of a data-parallel run, as the coordinator hands it out without knowing how gradients move: the rank,
/// what every rank's slot advertised as its data endpoint (index = rank, so the world size is their count; passed
/// through as the slots wrote them), and a secret fresh for this attempt. The node reads them with the transport the
/// experiment chooses (<c>data-parallel.transport</c>): the TCP ring dials the endpoints and proves the secret, ranks in
/// one process meet under it.
/// </summary>
public sealed record CollectiveAssignment(int Rank, IReadOnlyList<string> Endpoints, byte[] Secret)
{
    public int WorldSize => Endpoints.Count;
}

/// <summary>Stop a run after its current batch; the worker writes a checkpoint and answers with a
/// <see cref="TrainingStoppedReport"/>. In a data-parallel run every rank stops after the same step.</summary>
/// <param name="Abandon">A data-parallel rank closes its gradient connections at once instead (a peer is lost and
/// the run is re-forming): its fit ends at the next exchange, with a <see cref="RingLostReport"/>.</param>
public sealed record StopTraining(string RunId, string Reason, bool Abandon = false) : IClusterMessage;

/// <summary>What a worker reports about a run; the scheduler hands each to the run's experiment actor.</summary>
public interface IWorkerReport : IClusterMessage
{
    string RunId { get; }
}

/// <summary>
/// A report the journal must not lose: the worker keeps it until the coordinator says it is persisted
/// (<see cref="ReportsPersisted"/>), and sends it again, with backoff, until then. <see cref="Seq"/> counts a worker's
/// reports of one attempt from 1, in the order they happened; the coordinator handles them in that order, once each.
/// Only rank 0 of a run sequences its reports (it reports the run's facts); a rank &gt; 0 sends <see cref="Seq"/> 0,
/// which means "not sequenced": best effort, as before.
/// </summary>
public interface ISequencedReport : IWorkerReport
{
    int Attempt { get; }
    long Seq { get; }

    ISequencedReport WithSequence(int attempt, long seq);
}

/// <summary>The coordinator has handled (and persisted, where it persists anything) every report of the attempt up to
/// <paramref name="Seq"/>: the worker forgets them.</summary>
public sealed record ReportsPersisted(string RunId, int Attempt, long Seq) : IClusterMessage;

public sealed record TrainingStartedReport(string RunId, SlotAddress Slot, string RunDirectory, CheckpointRecord? ResumedFrom,
    IReadOnlyList<RejectedCheckpoint> RejectedCheckpoints, int Attempt = 0, long Seq = 0) : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

/// <summary>The slot could not take the run (it was busy: a race with another placement).</summary>
public sealed record TrainingRefusedReport(string RunId, SlotAddress Slot, string Reason) : IWorkerReport;

public sealed record EpochReport(string RunId, int Epoch, IReadOnlyDictionary<string, double> Metrics, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

public sealed record CheckpointReport(string RunId, CheckpointRecord Checkpoint, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

public sealed record ProgressReport(string RunId, int Epoch, int Epochs, int BatchIndex, int BatchesPerEpoch, double Loss,
    long SamplesThisEpoch) : IWorkerReport;

public sealed record TrainingFinishedReport(string RunId, TrainingOutcome Outcome, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

public sealed record TrainingFailedReport(string RunId, string Reason, FailureKind Kind, string? ErrorFile, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

/// <summary>The run stopped on request: cancelled (<paramref name="HandedBack"/> false) or handed back because the
/// node is leaving (true; the run is placed again and resumes from its newest checkpoint).</summary>
public sealed record TrainingStoppedReport(string RunId, string Reason, bool HandedBack, TrainingOutcome Outcome, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

/// <summary>A data-parallel rank's fit ended because its ring broke (a peer died, left, or stopped answering) or
/// could not be formed. Nothing is wrong with the run: it goes on from its last checkpoint with the live workers.</summary>
public sealed record RingLostReport(string RunId, int Rank, string Reason, int Attempt = 0, long Seq = 0)
    : ISequencedReport
{
    public ISequencedReport WithSequence(int attempt, long seq) => this with { Attempt = attempt, Seq = seq };
}

/// <summary>A slot is free again (its run ended, or it never started one).</summary>
public sealed record SlotIdle(IActorRef Slot, SlotAddress Address) : IClusterMessage;
