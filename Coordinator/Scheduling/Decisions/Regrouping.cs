namespace TrainManager.Coordinator.Scheduling.Decisions;

/// <summary>One rank of a run's current placement.</summary>
/// <param name="Slot">Where it runs (as the run's history names it).</param>
/// <param name="Ended">Its fit is over: it said how it ended, or it is lost.</param>
/// <param name="Confirmed">Its slot is known to run it; false after a coordinator restart until the slot claims it.</param>
public sealed record RankState(int Rank, string Slot, bool Ended, bool Confirmed = true);

/// <summary>A run's placement, by rank, and whether it is re-forming.</summary>
/// <param name="RegroupReason">Why the group is re-forming; null while it is whole.</param>
/// <param name="LostReason">The first rank lost while re-forming, which says more than the ring errors of the ranks that lived.</param>
public sealed record GroupState(IReadOnlyList<RankState> Ranks, string? RegroupReason = null, string? LostReason = null)
{
    public bool IsRegrouping => RegroupReason is not null;
}

/// <summary>What happened to some ranks of a run; <see cref="Regrouping.Decide"/> says what the run does about it.</summary>
public abstract record RankEvent
{
    private RankEvent() { }

    /// <summary>The ranks' slots are gone or leaving (death watch, a refusal, a hand-back).</summary>
    public sealed record Lost(IReadOnlyList<int> Ranks, string Reason) : RankEvent;

    /// <summary>The rank's ring broke under it; the rank itself is alive and may be placed again.</summary>
    public sealed record RingBroke(int Rank, string Reason) : RankEvent;

    /// <summary>The rank failed for a reason of its own (a bug, bad input): re-forming would fail the same way.</summary>
    public sealed record Failed(int Rank, string Reason) : RankEvent;

    /// <summary>The regroup timeout passed: the ranks that have not answered are lost.</summary>
    public sealed record RegroupTimedOut(string Reason) : RankEvent;

    /// <summary>After a coordinator restart, the time to claim the run is over: the ranks whose slots did not are lost.</summary>
    public sealed record ClaimsExpired(string Reason) : RankEvent;
}

/// <summary>A rank to journal as lost.</summary>
public sealed record LostRank(int Rank, string Slot, string Reason);

/// <summary>What the run does: the journal first (<see cref="Lost"/>), then the rest.</summary>
/// <param name="Next">The group afterwards.</param>
/// <param name="Lost">Ranks to journal as lost (only for a run of more than one rank: one worker lost is simply a requeue).</param>
/// <param name="Abandon">Live ranks to tell to abandon their ring now, with <paramref name="AbandonReason"/>.</param>
/// <param name="StartRegroupTimer">The group just began to re-form: the ranks have the regroup timeout to answer.</param>
/// <param name="RequeueReason">Every rank has ended: the run goes back to the queue with this reason and is placed
/// again on live slots; how many ranks it gets then (all of them, or its minimum after its replacement wait) is
/// <see cref="Placement"/>'s decision, and every rank resumes from the newest checkpoint.</param>
/// <param name="FailReason">The run fails with this reason instead of re-forming.</param>
public sealed record RegroupDecision(
    GroupState Next,
    IReadOnlyList<LostRank> Lost,
    IReadOnlyList<int> Abandon,
    string? AbandonReason,
    bool StartRegroupTimer,
    string? RequeueReason,
    string? FailReason)
{
    public static RegroupDecision Nothing(GroupState group) => new(group, [], [], null, false, null, null);
}

/// <summary>
/// What a run placed on a group of slots does when some of its ranks end before the run does. The rules:
/// <list type="bullet">
/// <item>A rank that fails for a reason of its own fails the run; the other live ranks abandon their ring.</item>
/// <item>A rank lost (its slot gone) or whose ring broke ends; the first such event starts the re-forming: every
/// other live rank is told to abandon its ring and has the regroup timeout to answer, after which the silent ones
/// are lost too.</item>
/// <item>Once every rank has ended the run goes back to the queue, the whole group (none is kept in place): it is
/// placed again on the live slots and resumes from its newest checkpoint.</item>
/// <item>Each rank lost is journaled, except in a run of one worker, where losing it is simply the requeue.</item>
/// </list>
/// Pure: the same group and event give the same decision.
/// </summary>
public static class Regrouping
{
    public static RegroupDecision Decide(GroupState group, RankEvent what)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(what);
        return what switch
        {
            RankEvent.Lost lost => Lose(group, group.Ranks.Where(r => !r.Ended && lost.Ranks.Contains(r.Rank)).ToList(), lost.Reason),
            RankEvent.RingBroke broke => group.Ranks.FirstOrDefault(r => r.Rank == broke.Rank) is { Ended: false } rank
                ? Regroup(End(group, [rank]), broke.Reason, [])
                : RegroupDecision.Nothing(group),
            RankEvent.Failed failed => Fail(group, failed),
            RankEvent.RegroupTimedOut timedOut => group.IsRegrouping
                ? Lose(group, group.Ranks.Where(r => !r.Ended).ToList(), timedOut.Reason)
                : RegroupDecision.Nothing(group),
            RankEvent.ClaimsExpired expired => Lose(group, group.Ranks.Where(r => !r.Ended && !r.Confirmed).ToList(), expired.Reason),
            _ => throw new ArgumentException($"Unknown rank event {what.GetType().Name}.", nameof(what)),
        };
    }

    static RegroupDecision Fail(GroupState group, RankEvent.Failed failed)
    {
        var next = End(group, group.Ranks.Where(r => r.Rank == failed.Rank).ToList());
        var reason = group.Ranks.Count > 1 ? $"rank {failed.Rank}: {failed.Reason}" : failed.Reason;
        var live = next.Ranks.Where(r => !r.Ended).Select(r => r.Rank).ToList();
        return new RegroupDecision(next, [], live, $"rank {failed.Rank} failed", false, null, reason);
    }

    static RegroupDecision Lose(GroupState group, IReadOnlyList<RankState> lost, string reason)
    {
        if (lost.Count == 0)
            return RegroupDecision.Nothing(group);
        var next = End(group, lost);
        if (group.Ranks.Count == 1)
            return Regroup(next, reason, []); // one worker: losing it is simply going back to the queue
        var first = $"rank {lost[0].Rank} on {lost[0].Slot} was lost: {reason}";
        next = next with { LostReason = next.LostReason ?? first };
        return Regroup(next, first, lost.Select(r => new LostRank(r.Rank, r.Slot, reason)).ToList());
    }

    static RegroupDecision Regroup(GroupState group, string reason, IReadOnlyList<LostRank> lost)
    {
        var first = !group.IsRegrouping;
        var next = group with { RegroupReason = group.RegroupReason ?? reason };
        var live = next.Ranks.Where(r => !r.Ended).Select(r => r.Rank).ToList();
        if (live.Count == 0)
        {
            var requeue = next.Ranks.Count == 1
                ? next.RegroupReason!
                : $"{next.LostReason ?? next.RegroupReason}; it goes on from its last checkpoint with the live workers";
            return new RegroupDecision(next, lost, [], null, false, requeue, null);
        }
        return first
            ? new RegroupDecision(next, lost, live, $"the run is re-forming: {reason}", true, null, null)
            : new RegroupDecision(next, lost, [], null, false, null, null);
    }

    static GroupState End(GroupState group, IReadOnlyList<RankState> ranks) => group with
    {
        Ranks = group.Ranks.Select(r => ranks.Any(e => e.Rank == r.Rank) ? r with { Ended = true } : r).ToList(),
    };
}
