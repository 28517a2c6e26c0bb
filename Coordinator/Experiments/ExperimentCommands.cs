using Akka.Actor;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Experiments;

/// <summary>
/// What the scheduler (<see cref="Scheduling.ExperimentRegistry"/>) and an <see cref="ExperimentActor"/> say to each
/// other. Both live in the coordinator's process (the experiments are the registry's children), so none of these
/// crosses the network.
/// </summary>
public static class ExperimentCommands
{
    /// <summary>Record a new experiment; the actor answers the client (<paramref name="Client"/>) once it is journaled.</summary>
    public sealed record Create(ExperimentSubmitted Submitted, IActorRef Client, int QueuePosition, int MatchingSlots);

    /// <summary>A free slot the registry offers.</summary>
    public sealed record SlotOffer(IActorRef Slot, SlotAddress Address);

    /// <summary>Run on these slots: one for a run with one worker, one per rank (in rank order) for a data-parallel run.</summary>
    public sealed record AssignSlots(IReadOnlyList<SlotOffer> Slots);

    /// <summary>The experiment is no longer queued (cancelled meanwhile): the registry frees the slots it offered.</summary>
    public sealed record SlotsDeclined(IReadOnlyList<IActorRef> Slots);

    /// <summary>After a coordinator restart: the slot the journal names reported that it is still running this experiment.</summary>
    public sealed record SlotConfirmed(IActorRef Slot, SlotAddress Address);

    /// <summary>After a coordinator restart, the time to claim the run is over: a rank whose slot has not said it still
    /// runs it is lost.</summary>
    public sealed record SlotLost(string Reason);

    /// <summary>To the registry, after recovery and after every change: what the queue and <c>runs</c> need to know.</summary>
    public sealed record ExperimentChanged(RunSummary Summary, string Device, DateTimeOffset QueuedSince, bool Recovered, WorkerGroupSpec Group,
        string? Bundle = null);

    /// <summary>To the registry: the experiment has ended and had no request for the passivation timeout; it may stop.
    /// The registry answers <see cref="StopExperiment"/> and holds the run's requests until it has stopped.</summary>
    public sealed record Passivate(string RunId);

    /// <summary>From the registry, after <see cref="Passivate"/>: stop now (its supervisor stops with it, for good).</summary>
    public sealed record StopExperiment
    {
        public static StopExperiment Instance { get; } = new();
    }

    /// <summary>Ask how the experiment was recovered: answered with <see cref="RecoveryReport"/>.</summary>
    public sealed record GetRecovery
    {
        public static GetRecovery Instance { get; } = new();
    }

    /// <param name="SnapshotSequenceNr">The sequence number of the snapshot it recovered from (0: none).</param>
    /// <param name="EventsReplayed">How many events it replayed after that snapshot.</param>
    /// <param name="LastSnapshotSequenceNr">The sequence number of its newest snapshot saved since (or the one it recovered from).</param>
    /// <param name="LastSequenceNr">Its journal's newest sequence number.</param>
    public sealed record RecoveryReport(long SnapshotSequenceNr, int EventsReplayed, long LastSnapshotSequenceNr, long LastSequenceNr);
}
