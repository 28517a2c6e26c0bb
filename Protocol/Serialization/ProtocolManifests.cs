using System.Collections.Frozen;
using TrainManager.Protocol;

namespace TrainManager.Protocol.Serialization;

/// <summary>
/// The one table of what may cross the network or sit in the journal: a versioned manifest per message type. A type
/// that changes incompatibly gets a new manifest (<c>.v2</c>) and both stay here while old journals or old nodes may
/// still send the old one. Nothing outside this table is ever deserialized, whatever a sender claims.
/// </summary>
public static class ProtocolManifests
{
    static readonly (string Manifest, Type Type)[] Table =
    [
        // Journal events: renaming one of these orphans every stored event of that kind.
        ("tm.evt.submitted.v1", typeof(ExperimentSubmitted)),
        ("tm.evt.scheduled.v1", typeof(ExperimentScheduled)),
        ("tm.evt.started.v1", typeof(ExperimentStarted)),
        ("tm.evt.epoch.v1", typeof(EpochCompleted)),
        ("tm.evt.checkpoint.v1", typeof(CheckpointSaved)),
        ("tm.evt.finished.v1", typeof(ExperimentFinished)),
        ("tm.evt.failed.v1", typeof(ExperimentFailed)),
        ("tm.evt.cancelled.v1", typeof(ExperimentCancelled)),
        ("tm.evt.requeued.v1", typeof(ExperimentRequeued)),
        ("tm.evt.worker-lost.v1", typeof(WorkerLost)),

        // Snapshots and the coordinator's index of ended runs (journaled too).
        ("tm.snap.experiment.v1", typeof(ExperimentSnapshot)),
        ("tm.idx.ended.v1", typeof(RunIndexed)),
        ("tm.snap.run-index.v1", typeof(RunIndexSnapshot)),

        // Clients (the CLI) and the coordinator.
        ("tm.exp.submit.v1", typeof(SubmitExperiment)),
        ("tm.exp.submit-accepted.v1", typeof(SubmitAccepted)),
        ("tm.exp.submit-rejected.v1", typeof(SubmitRejected)),
        ("tm.exp.list.v1", typeof(ListRuns)),
        ("tm.exp.list-result.v1", typeof(RunList)),
        ("tm.exp.get.v1", typeof(GetRun)),
        ("tm.exp.details.v1", typeof(RunDetails)),
        ("tm.exp.not-found.v1", typeof(RunNotFound)),
        ("tm.exp.cancel.v1", typeof(CancelRun)),
        ("tm.exp.cancel-accepted.v1", typeof(CancelAccepted)),
        ("tm.exp.cancel-refused.v1", typeof(CancelRefused)),
        ("tm.exp.follow.v1", typeof(FollowRun)),
        ("tm.exp.unfollow.v1", typeof(UnfollowRun)),
        ("tm.exp.event.v1", typeof(RunEventNotice)),
        ("tm.exp.progress.v1", typeof(RunProgress)),
        ("tm.exp.ended.v1", typeof(RunEnded)),

        // Nodes, their slots, and the scheduler.
        ("tm.slot.register.v1", typeof(RegisterSlots)),
        ("tm.slot.report.v1", typeof(ReportSlots)),
        ("tm.slot.idle.v1", typeof(SlotIdle)),
        // v2: the ring assignment became a collective assignment. Never journaled; a node of the previous version
        // refuses it by manifest rather than reading it as a single-worker run.
        ("tm.work.start.v2", typeof(StartTraining)),
        ("tm.work.stop.v1", typeof(StopTraining)),
        ("tm.work.started.v1", typeof(TrainingStartedReport)),
        ("tm.work.refused.v1", typeof(TrainingRefusedReport)),
        ("tm.work.epoch.v1", typeof(EpochReport)),
        ("tm.work.checkpoint.v1", typeof(CheckpointReport)),
        ("tm.work.progress.v1", typeof(ProgressReport)),
        ("tm.work.finished.v1", typeof(TrainingFinishedReport)),
        ("tm.work.failed.v1", typeof(TrainingFailedReport)),
        ("tm.work.stopped.v1", typeof(TrainingStoppedReport)),
        ("tm.work.ring-lost.v1", typeof(RingLostReport)),
        ("tm.work.persisted.v1", typeof(ReportsPersisted)),

        // Bundles of users' training projects: offered by clients, pulled in chunks by the coordinator and the nodes.
        ("tm.bundle.offer.v1", typeof(OfferBundle)),
        ("tm.bundle.held.v1", typeof(BundleHeld)),
        ("tm.bundle.refused.v1", typeof(BundleRefused)),
        ("tm.bundle.read.v1", typeof(ReadBundleChunk)),
        ("tm.bundle.chunk.v1", typeof(BundleChunk)),
        ("tm.bundle.unavailable.v1", typeof(BundleUnavailable)),
        ("tm.bundle.fetch.v1", typeof(FetchBundle)),
        ("tm.bundle.source.v1", typeof(BundleSource)),
    ];

    static readonly FrozenDictionary<string, Type> TypesByManifest = Table.ToFrozenDictionary(e => e.Manifest, e => e.Type, StringComparer.Ordinal);
    static readonly FrozenDictionary<Type, string> ManifestsByType = Table.ToFrozenDictionary(e => e.Type, e => e.Manifest);

    public static IReadOnlyCollection<string> All => TypesByManifest.Keys;

    public static bool TryGetType(string manifest, out Type type) => TypesByManifest.TryGetValue(manifest, out type!);

    public static bool TryGetManifest(Type type, out string manifest) => ManifestsByType.TryGetValue(type, out manifest!);
}
