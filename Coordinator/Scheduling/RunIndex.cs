using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Scheduling;

/// <summary>
/// The coordinator's index of ended runs: one <see cref="RunSummary"/> per finished, failed or cancelled run, journaled
/// under its own persistence id and snapshotted every <c>snapshot-every</c> entries, so a restarted coordinator lists
/// its ended runs from one snapshot and a few events instead of recovering an experiment actor per run.
/// <para>
/// Why a persistent actor of its own rather than a rebuild from a journal query or tags: knowing that a run has ended
/// means reading its events (or its snapshot), which for thousands of runs is the very cost this avoids; the index is
/// one small journal read at any size. It is derived data: a run the index lacks (a journal written before the index
/// existed, or a coordinator that stopped between a run's end and its index entry) is simply recovered as an actor at
/// start, reports that it has ended, and is indexed then; so the index heals itself and an old journal is rebuilt
/// once. For the same reason the entries a snapshot covers are deleted from its journal.
/// </para>
/// Only the registry of a coordinator that recovers the journal runs it: one writer per journal, as for the experiments.
/// </summary>
public sealed class RunIndex : ReceivePersistentActor
{
    public const string IndexPersistenceId = "run-index";

    /// <summary>Record a run that has ended (or update its entry); nothing is written when the entry is the same.</summary>
    public sealed record Add(RunSummary Summary);

    /// <summary>To the parent once the index is recovered, and to whoever sends <see cref="GetEntries"/>: every ended
    /// run whose entry is journaled.</summary>
    public sealed record Loaded(IReadOnlyCollection<RunSummary> Runs);

    public sealed record GetEntries
    {
        public static GetEntries Instance { get; } = new();
    }

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Dictionary<string, RunSummary> _runs = new(StringComparer.Ordinal);
    readonly int _snapshotEvery;

    public RunIndex(int snapshotEvery)
    {
        _snapshotEvery = Math.Max(1, snapshotEvery);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not RunIndexSnapshot snapshot)
                return;
            _runs.Clear();
            foreach (var run in snapshot.Runs)
                _runs[run.RunId] = run;
        });
        Recover<RunIndexed>(e => _runs[e.Summary.RunId] = e.Summary);
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(new Loaded(_runs.Values.ToList())));

        Command<Add>(add =>
        {
            if (_runs.TryGetValue(add.Summary.RunId, out var known) && known == add.Summary)
                return;
            // Not waiting for each write: the journal writes many runs' entries in one batch (a coordinator that
            // recovers an old journal indexes thousands at once).
            PersistAsync(new RunIndexed(add.Summary), e =>
            {
                _runs[e.Summary.RunId] = e.Summary;
                if (LastSequenceNr % _snapshotEvery == 0)
                    SaveSnapshot(new RunIndexSnapshot(_runs.Values.ToList()));
            });
        });
        Command<GetEntries>(_ => Sender.Tell(new Loaded(_runs.Values.ToList())));
        Command<SaveSnapshotSuccess>(saved =>
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
            DeleteMessages(saved.Metadata.SequenceNr);
        });
        Command<SaveSnapshotFailure>(failed => _log.Warning("The index of ended runs could not save its snapshot ({0}); it recovers from its entries", failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failed => _log.Warning("The index of ended runs could not delete older snapshots ({0})", failed.Cause.Message));
        Command<DeleteMessagesFailure>(failed => _log.Warning("The index of ended runs could not delete entries its snapshot holds ({0})", failed.Cause.Message));
    }

    public static Props Props(int snapshotEvery) => Akka.Actor.Props.Create(() => new RunIndex(snapshotEvery));

    public override string PersistenceId => IndexPersistenceId;
}
