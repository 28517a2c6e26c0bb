using TrainManager.Protocol;

namespace TrainManager.Coordinator.Scheduling.Decisions;

/// <summary>What the coordinator knows of a run that a slot says it is running.</summary>
public enum ClaimedRun
{
    /// <summary>No experiment of that id: the journal never had it.</summary>
    Unknown,
    /// <summary>Its experiment is still reading its journal.</summary>
    Recovering,
    /// <summary>The journal says it was training when this coordinator started, and the grace to claim it is not over.</summary>
    AwaitingClaims,
    /// <summary>Anything else: queued, placed by this coordinator, ended, or its grace is over.</summary>
    Settled,
}

/// <summary>What to do with a slot's claim.</summary>
public enum ClaimVerdict
{
    /// <summary>Nothing to judge: the slot is free, or runs what the coordinator gave it.</summary>
    Nothing,
    /// <summary>The slot carries on: the experiment hears the slot still runs its rank.</summary>
    Confirm,
    /// <summary>The slot runs a copy of a run placed elsewhere, ended or unknown: it must stop, not write over the real one.</summary>
    StopCopy,
    /// <summary>Judged once the run's experiment has read its journal.</summary>
    Defer,
}

/// <summary>A recovered run: whether it waits for its slots to claim it, and how long it still may.</summary>
/// <param name="ClaimDeadlineIn">From now until the grace ends (zero when it has).</param>
public sealed record RecoveredRun(bool AwaitsClaims, TimeSpan ClaimDeadlineIn);

/// <summary>
/// After a coordinator restart the journal says which runs were training, and the worker slots say (when they
/// register) which runs they are still running. The rules:
/// <list type="bullet">
/// <item>A run the journal says was placed or running waits for its slots until the confirmation grace, counted from
/// the coordinator's start, is over.</item>
/// <item>A slot claiming such a run carries on; one claiming a run that is unknown, settled, or not waiting for claims
/// is told to stop its copy; one claiming a run whose experiment is still recovering is judged once it has.</item>
/// <item>When the grace is over, the ranks no slot claimed are lost (<see cref="RankEvent.ClaimsExpired"/>): the run
/// re-forms without them and goes back to the queue (<see cref="Regrouping"/>).</item>
/// </list>
/// Pure: the coordinator remembers what it needs to and calls these as facts arrive.
/// </summary>
public static class ClaimReconciliation
{
    /// <param name="claimedRunId">The run the slot says it runs; null: it is free.</param>
    /// <param name="assignedRunId">The run the coordinator has the slot down for; null: none.</param>
    public static ClaimVerdict Judge(string? claimedRunId, string? assignedRunId, ClaimedRun run)
    {
        if (claimedRunId is null || claimedRunId == assignedRunId)
            return ClaimVerdict.Nothing; // a free slot may still have a placement on its way: the worker says when it is idle
        return run switch
        {
            ClaimedRun.Unknown => ClaimVerdict.StopCopy,
            ClaimedRun.Recovering => ClaimVerdict.Defer,
            ClaimedRun.AwaitingClaims => ClaimVerdict.Confirm, // every rank of a data-parallel run claims it; the experiment matches them
            ClaimedRun.Settled => ClaimVerdict.StopCopy,
            _ => throw new ArgumentOutOfRangeException(nameof(run), run, "Unknown claimed-run state."),
        };
    }

    /// <summary>A run's experiment has read its journal: does it wait for claims, and until when.</summary>
    /// <param name="recovered">It was read from the journal (rather than submitted to this coordinator).</param>
    /// <param name="grace">How long after the coordinator's start slots may claim their runs (none left: zero).</param>
    public static RecoveredRun Recovered(bool recovered, RunStatus status, TimeSpan grace, DateTimeOffset coordinatorStarted, DateTimeOffset now)
    {
        var awaits = recovered && status is RunStatus.Scheduled or RunStatus.Running;
        var remaining = grace - (now - coordinatorStarted);
        return new RecoveredRun(awaits, awaits && remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
    }

    /// <summary>The claims that came while the run's experiment was recovering, judged now that it has.</summary>
    public static ClaimVerdict JudgeDeferred(RecoveredRun run) => run.AwaitsClaims ? ClaimVerdict.Confirm : ClaimVerdict.StopCopy;
}
