using TrainManager.Coordinator.Scheduling.Decisions;

namespace TrainManager.Tests.Coordinator.Decisions;

/// <summary>
/// Regrouping as a table: a group and what happened to some of its ranks in, what the run does out. A group is written
/// one entry per rank: <c>live</c>, <c>ended</c>, or <c>unclaimed</c> (after a restart, its slot has not said it still
/// runs it); rank r runs on slot <c>sr</c>. A group re-forming already has the reason <c>"earlier"</c>.
/// </summary>
public sealed class RegroupingTests
{
    const string Checkpoint = "; it goes on from its last checkpoint with the live workers";

    public static TheoryData<string, string, bool, RankEvent, string, string, bool, string?, string?> Cases => new()
    {
        // what, group, re-forming already, event, lost ranks journaled, ranks told to abandon, regroup timer starts, requeue reason, fail reason
        { "one worker lost goes back to the queue, nothing journaled", "live", false, new RankEvent.Lost([0], "gone"), "", "", false, "gone", null },
        { "a rank lost is journaled and the others abandon their ring", "live live live", false, new RankEvent.Lost([1], "gone"), "1", "0 2", true,
            null, null },
        { "a rank lost while re-forming is journaled, nobody is told twice", "live ended live", true, new RankEvent.Lost([0], "gone"), "0", "", false,
            null, null },
        { "the last rank to end sends the run back to the queue", "ended ended live", true, new RankEvent.RingBroke(2, "peer gone"), "", "", false,
            "earlier" + Checkpoint, null },
        { "a broken ring starts the re-forming without a loss to journal", "live live", false, new RankEvent.RingBroke(1, "peer gone"), "", "0", true,
            null, null },
        { "a rank that already ended changes nothing", "live ended", true, new RankEvent.RingBroke(1, "again"), "", "", false, null, null },
        { "a rank that is not in the group changes nothing", "live live", false, new RankEvent.Lost([5], "gone"), "", "", false, null, null },
        { "a rank that fails fails the run and the others abandon", "live live live", false, new RankEvent.Failed(1, "NaN loss"), "", "0 2", false,
            null, "rank 1: NaN loss" },
        { "a single worker that fails fails the run with its own reason", "live", false, new RankEvent.Failed(0, "NaN loss"), "", "", false, null,
            "NaN loss" },
        { "at the regroup timeout the silent ranks are lost and the first of them names the requeue", "live ended live", true,
            new RankEvent.RegroupTimedOut("silent"), "0 2", "", false, "rank 0 on s0 was lost: silent" + Checkpoint, null },
        { "a regroup timeout when the group is whole changes nothing", "live live", false, new RankEvent.RegroupTimedOut("silent"), "", "", false,
            null, null },
        { "when the claims expire the unclaimed ranks are lost", "live unclaimed", false, new RankEvent.ClaimsExpired("not claimed"), "1", "0", true,
            null, null },
        { "when the claims expire and every rank was claimed nothing happens", "live live", false, new RankEvent.ClaimsExpired("not claimed"), "", "",
            false, null, null },
        { "a single unclaimed worker goes back to the queue", "unclaimed", false, new RankEvent.ClaimsExpired("not claimed"), "", "", false,
            "not claimed", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decides_as_the_rules_say(string what, string group, bool regrouping, RankEvent happened, string lost, string abandon, bool timer,
        string? requeue, string? fail)
    {
        var decision = Regrouping.Decide(Group(group, regrouping), happened);

        Assert.True(lost == string.Join(" ", decision.Lost.Select(l => l.Rank)), $"{what}: lost {string.Join(" ", decision.Lost.Select(l => l.Rank))}");
        Assert.True(abandon == string.Join(" ", decision.Abandon), $"{what}: abandon {string.Join(" ", decision.Abandon)}");
        Assert.Equal(timer, decision.StartRegroupTimer);
        Assert.Equal(requeue, decision.RequeueReason);
        Assert.Equal(fail, decision.FailReason);
    }

    [Fact]
    public void The_first_rank_lost_names_the_requeue_even_when_a_ring_error_came_first()
    {
        var group = Group("live live live", regrouping: false);

        var broke = Regrouping.Decide(group, new RankEvent.RingBroke(2, "rank 2 lost rank 1"));
        var lost = Regrouping.Decide(broke.Next, new RankEvent.Lost([1], "its node left"));
        var last = Regrouping.Decide(lost.Next, new RankEvent.RingBroke(0, "rank 0 lost rank 2"));

        Assert.Equal("the run is re-forming: rank 2 lost rank 1", broke.AbandonReason);
        Assert.Equal("rank 1 on s1 was lost: its node left" + Checkpoint, last.RequeueReason);
        Assert.Equal(new LostRank(1, "s1", "its node left"), Assert.Single(lost.Lost));
    }

    [Fact]
    public void The_group_afterwards_has_the_ended_ranks_and_the_reasons()
    {
        var decision = Regrouping.Decide(Group("live live", regrouping: false), new RankEvent.Lost([1], "gone"));

        Assert.Equal([false, true], decision.Next.Ranks.Select(r => r.Ended));
        Assert.Equal("rank 1 on s1 was lost: gone", decision.Next.RegroupReason);
        Assert.Equal("rank 1 on s1 was lost: gone", decision.Next.LostReason);
    }

    [Fact]
    public void A_group_that_lost_its_only_worker_while_re_forming_keeps_the_first_reason()
    {
        var decision = Regrouping.Decide(Group("live", regrouping: true), new RankEvent.Lost([0], "later"));

        Assert.Equal("earlier", decision.RequeueReason);
    }

    static GroupState Group(string ranks, bool regrouping) => new(
        ranks.Split(' ').Select((state, rank) => new RankState(rank, $"s{rank}", state == "ended", state != "unclaimed")).ToList(),
        regrouping ? "earlier" : null);
}
