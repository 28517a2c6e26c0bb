namespace TrainManager.Protocol.Configuration;

/// <summary>How the scheduler behaves (<c>trainmanager.scheduler</c> in cluster.hocon).</summary>
/// <param name="RecoverOnStart">Load every experiment from the journal on start (a cluster's coordinator); off for the
/// embedded <c>train</c>, whose process runs only its own experiment.</param>
/// <param name="ConfirmationGrace">After a restart, how long a run that the journal says was training waits for its
/// worker to report that it still runs it, before it is placed again and resumes from its newest checkpoint.</param>
/// <param name="QueryJournalId">The persistence query plugin that lists the journal's experiments.</param>
/// <param name="RegroupTimeout">When a data-parallel run loses a rank, how long the other ranks have to say they
/// stopped before they too are counted as lost (null: <see cref="DefaultRegroupTimeout"/>).</param>
/// <param name="SnapshotEvery">An experiment saves a snapshot of its state every this many journal events (and when it ends).</param>
/// <param name="PassivateAfter">How long an ended experiment's actor lives without a request before it stops (null:
/// <see cref="DefaultPassivateAfter"/>); <c>runs</c> lists it from the index meanwhile.</param>
/// <param name="RestartBackoffMin">The first wait before an experiment that stopped (its journal write failed) is
/// recovered again; each further stop doubles it, up to <paramref name="RestartBackoffMax"/>.</param>
public sealed record SchedulerOptions(bool RecoverOnStart, TimeSpan ConfirmationGrace, string QueryJournalId = "akka.persistence.query.journal.sql",
    TimeSpan? RegroupTimeout = null, int SnapshotEvery = SchedulerOptions.DefaultSnapshotEvery, TimeSpan? PassivateAfter = null,
    TimeSpan? RestartBackoffMin = null, TimeSpan? RestartBackoffMax = null)
{
    public const int DefaultSnapshotEvery = 100;
    public static readonly TimeSpan DefaultPassivateAfter = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan DefaultRestartBackoffMin = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultRestartBackoffMax = TimeSpan.FromSeconds(30);

    /// <summary>How long the other ranks of a data-parallel run have to say they stopped after one is lost.</summary>
    public static readonly TimeSpan DefaultRegroupTimeout = TimeSpan.FromSeconds(10);
}
