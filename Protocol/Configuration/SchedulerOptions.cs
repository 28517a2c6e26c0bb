namespace TrainManager.Protocol.Configuration;

/// <summary>How the scheduler behaves (<c>trainmanager.scheduler</c> in cluster.hocon).</summary>
/// <param name="RecoverOnStart">Load every experiment from the journal on start (a cluster's coordinator); off for the
/// embedded <c>train</c>, whose process runs only its own experiment.</param>
/// <param name="ConfirmationGrace">After a restart, how long a run that the journal says was training waits for its
/// worker to report that it still runs it, before it is placed again and resumes from its newest checkpoint.</param>
/// <param name="QueryJournalId">The persistence query plugin that lists the journal's experiments.</param>
/// <param name="RegroupTimeout">When a data-parallel run loses a rank, how long the other ranks have to say they
/// stopped before they too are counted as lost (null: <see cref="DefaultRegroupTimeout"/>).</param>
public sealed record SchedulerOptions(bool RecoverOnStart, TimeSpan ConfirmationGrace, string QueryJournalId = "akka.persistence.query.journal.sql",
    TimeSpan? RegroupTimeout = null)
{
    /// <summary>How long the other ranks of a data-parallel run have to say they stopped after one is lost.</summary>
    public static readonly TimeSpan DefaultRegroupTimeout = TimeSpan.FromSeconds(10);
}
