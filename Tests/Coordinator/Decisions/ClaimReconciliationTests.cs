using TrainManager.Coordinator.Scheduling.Decisions;
using TrainManager.Protocol;

namespace TrainManager.Tests.Coordinator.Decisions;

/// <summary>Claim reconciliation after a coordinator restart as tables: what a slot claims and what the journal says, in;
/// carry on, stop the copy, or wait for the experiment to recover, out.</summary>
public sealed class ClaimReconciliationTests
{
    [Theory]
    [InlineData(null, null, ClaimedRun.Unknown, ClaimVerdict.Nothing)] // a free slot: nothing to judge
    [InlineData(null, "r1", ClaimedRun.Settled, ClaimVerdict.Nothing)] // free while a placement is on its way: it says when it is idle
    [InlineData("r1", "r1", ClaimedRun.Settled, ClaimVerdict.Nothing)] // runs what it was given
    [InlineData("r1", null, ClaimedRun.Unknown, ClaimVerdict.StopCopy)] // a run the journal never had
    [InlineData("r1", null, ClaimedRun.Recovering, ClaimVerdict.Defer)] // judged once its experiment has read the journal
    [InlineData("r1", null, ClaimedRun.AwaitingClaims, ClaimVerdict.Confirm)] // the journal says it was training: carry on
    [InlineData("r1", "r2", ClaimedRun.AwaitingClaims, ClaimVerdict.Confirm)]
    [InlineData("r1", null, ClaimedRun.Settled, ClaimVerdict.StopCopy)] // placed elsewhere, ended, or its grace is over
    public void A_claim_is_judged_by_what_the_coordinator_knows_of_the_run(string? claimed, string? assigned, ClaimedRun run, ClaimVerdict expected) =>
        Assert.Equal(expected, ClaimReconciliation.Judge(claimed, assigned, run));

    [Theory]
    [InlineData(true, RunStatus.Running, 30, 10, true, 20)]
    [InlineData(true, RunStatus.Scheduled, 30, 0, true, 30)]
    [InlineData(true, RunStatus.Running, 30, 45, true, 0)] // recovered after the grace: its claims are due at once
    [InlineData(true, RunStatus.Queued, 30, 0, false, 0)]
    [InlineData(true, RunStatus.Finished, 30, 0, false, 0)]
    [InlineData(true, RunStatus.Cancelled, 30, 0, false, 0)]
    [InlineData(false, RunStatus.Running, 30, 0, false, 0)] // placed by this coordinator: nothing to claim
    [InlineData(true, RunStatus.Running, 0, 0, true, 0)]
    public void A_recovered_run_that_was_training_waits_for_claims_until_the_grace_ends(bool recovered, RunStatus status, int graceSeconds,
        int startedSecondsAgo, bool awaits, int deadlineSeconds)
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

        var run = ClaimReconciliation.Recovered(recovered, status, TimeSpan.FromSeconds(graceSeconds), now.AddSeconds(-startedSecondsAgo), now);

        Assert.Equal(new RecoveredRun(awaits, TimeSpan.FromSeconds(deadlineSeconds)), run);
    }

    [Theory]
    [InlineData(true, ClaimVerdict.Confirm)]
    [InlineData(false, ClaimVerdict.StopCopy)]
    public void Claims_that_came_while_the_run_recovered_are_judged_once_it_has(bool awaits, ClaimVerdict expected) =>
        Assert.Equal(expected, ClaimReconciliation.JudgeDeferred(new RecoveredRun(awaits, TimeSpan.Zero)));
}
