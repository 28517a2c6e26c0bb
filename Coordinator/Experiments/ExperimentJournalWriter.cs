using Akka.Actor;
using Akka.Persistence;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Experiments;

/// <summary>
/// Writes a run's events straight into the journal under the experiment's persistence id, as an
/// <see cref="ExperimentActor"/> would have: for journals made up for tests and for the restart benchmark, which need
/// thousands of runs in their states without running them. Send it the events; it answers <see cref="Written"/> once
/// they are journaled (and the snapshot, if one is given, saved), and stops.
/// </summary>
public sealed class ExperimentJournalWriter : ReceivePersistentActor
{
    /// <param name="Snapshot">Saved after the events, at the last one's sequence number (as an experiment saves one when it ends).</param>
    public sealed record Write(IReadOnlyList<IExperimentEvent> Events, ExperimentSnapshot? Snapshot = null);

    public sealed record Written(string RunId, long LastSequenceNr);

    readonly string _runId;

    public ExperimentJournalWriter(string runId)
    {
        _runId = runId;
        Command<Write>(write =>
        {
            var replyTo = Sender;
            var left = write.Events.Count;
            PersistAll(write.Events, _ =>
            {
                if (--left > 0)
                    return;
                if (write.Snapshot is { } snapshot)
                {
                    SaveSnapshot(snapshot);
                    Become(() => Command<SaveSnapshotSuccess>(_ => Done(replyTo)));
                }
                else
                    Done(replyTo);
            });
        });
    }

    void Done(IActorRef replyTo)
    {
        replyTo.Tell(new Written(_runId, LastSequenceNr));
        Context.Stop(Self);
    }

    public static Props Props(string runId) => Akka.Actor.Props.Create(() => new ExperimentJournalWriter(runId));

    public override string PersistenceId => ExperimentActor.PersistenceIdPrefix + _runId;
}
