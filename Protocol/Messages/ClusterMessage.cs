namespace TrainManager.Protocol;

/// <summary>
/// Marks every message that may cross the network or be written to the journal. The marker is what binds them to
/// <see cref="Serialization.ClusterMessageSerializer"/> (see <c>ClusterDefaults.hocon</c>); a type without it that
/// reaches the wire is refused, never serialized by a fallback that trusts type names.
/// </summary>
public interface IClusterMessage;

/// <summary>One slot of a node: a device that runs one experiment at a time. Written into the journal, so it names the
/// slot by address rather than by actor reference (references die with the node; the history must not).</summary>
/// <param name="Node">The node's Akka address, e.g. <c>akka.tcp://trainmanager@127.0.0.1:4054</c>.</param>
/// <param name="Index">The slot's number on its node, from 0.</param>
/// <param name="Device">The device the slot trains on: <c>cpu</c>, <c>cuda:0</c>, ...</param>
/// <param name="DataEndpoint">Where the slot accepts the gradient connections of a data-parallel run
/// (<c>host:port</c>); null for a slot that cannot take part in one.</param>
public sealed record SlotAddress(string Node, int Index, string Device, string? DataEndpoint = null)
{
    /// <summary>The same slot, whatever its data endpoint (a restarted node may listen on another port).</summary>
    public bool SameSlot(SlotAddress other) => Node == other.Node && Index == other.Index;

    public override string ToString() => $"{Node} slot {Index} ({Device})";
}

/// <summary>How many workers an experiment trains on, and how it behaves when it loses some: read from the experiment
/// (<c>workers</c>, <c>data-parallel.min-workers</c>, <c>data-parallel.replacement-wait</c>) when it is submitted.</summary>
public sealed record WorkerGroupSpec(int Workers, int MinWorkers, TimeSpan ReplacementWait)
{
    public static WorkerGroupSpec Single { get; } = new(1, 1, TimeSpan.Zero);
}

/// <summary>A checkpoint as the journal remembers it: where it is (a path every node can read), its SHA-256 over the
/// whole file (checked before a resume trusts it), and where training stood.</summary>
public sealed record CheckpointRecord(string Path, string Sha256, int Epoch, long Step, IReadOnlyDictionary<string, double> Metrics);

/// <summary>A checkpoint that a resume refused, and why (it was kept, renamed, not deleted).</summary>
public sealed record RejectedCheckpoint(string Path, string Reason, string? KeptAs);

/// <summary>How a fit ended: the numbers of the run summary.</summary>
/// <param name="TestLoss">Kept for journals written before <paramref name="Metrics"/>; the same as its <c>test_loss</c>.</param>
/// <param name="TestAccuracy">Kept for journals written before <paramref name="Metrics"/>; NaN for a task without accuracy.</param>
/// <param name="Metrics">The fit's final metrics, whatever the task reports (<c>train_loss</c>, <c>val_*</c>,
/// <c>test_*</c>); null in events journaled before it existed.</param>
public sealed record TrainingOutcome(
    int Epochs,
    double TrainLoss,
    double TestLoss,
    double TestAccuracy,
    TimeSpan Elapsed,
    string? LastCheckpoint,
    string? StopReason,
    IReadOnlyDictionary<string, double>? Metrics = null)
{
    /// <summary>The final metrics, from <see cref="Metrics"/> or, for an old event, the three numbers it had.</summary>
    public IReadOnlyDictionary<string, double> FinalMetrics => Metrics ?? new Dictionary<string, double>
    {
        ["train_loss"] = TrainLoss, ["test_loss"] = TestLoss, ["test_accuracy"] = TestAccuracy,
    };
}

/// <summary>Which code the submitter ran (<see cref="Provenance.CodeVersion"/>): enough to find it again (commit, tree),
/// small enough for the journal, and a sentence for people. The full patch of uncommitted changes is the provenance
/// extension's job, in the run directory.</summary>
public sealed record ProvenanceSummary : TrainManager.Provenance.CodeVersion
{
    public ProvenanceSummary() { }

    /// <summary>The summary of <paramref name="code"/>, which <paramref name="description"/> tells.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public ProvenanceSummary(TrainManager.Provenance.CodeVersion code, string description) : base(code) => Description = description;

    public required string Description { get; init; }

    public static ProvenanceSummary Unknown(string why) => new() { IsGitRepository = false, Description = why };
}
