using TrainManager.Protocol.Configuration;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using System.Security.Cryptography;
using TrainManager.Protocol;
using TrainManager.Coordinator.Scheduling.Decisions;
using static TrainManager.Coordinator.Experiments.ExperimentCommands;

namespace TrainManager.Coordinator.Experiments;

/// <summary>
/// One experiment, persisted: every fact about it is an event in the journal (<see cref="IExperimentEvent"/>) before it
/// is acted on. Its behaviours follow the run: <see cref="AwaitingSubmission"/>, <see cref="Queued"/>,
/// <see cref="Placed"/> (slots were chosen, rank 0 has not confirmed), <see cref="Training"/>, <see cref="Ended"/>.
/// Followers (a CLI's <c>--follow</c>) get each event and the live progress.
/// <para>
/// A placement is a group of slots, one per rank (one for a run with one worker). When a rank's fit ends before the
/// run does (its node died or left, its ring broke), the group re-forms: the other ranks are told to abandon the ring,
/// and once each has answered (or not within the regroup timeout, and is then lost) the run goes back to the queue
/// and is placed again on the live slots, resuming from its newest checkpoint. Each rank lost is journaled
/// (<see cref="WorkerLost"/>), and so is each new group (<see cref="ExperimentScheduled"/>).
/// </para>
/// <para>
/// Rank 0's reports are numbered per attempt (<see cref="ISequencedReport"/>) and its worker sends each again until it
/// is acknowledged (<see cref="ReportsPersisted"/>, sent once the event it caused is persisted). They are handled in
/// their order and once: a report already handled is acknowledged again and nothing else; one after a gap waits for
/// the missing one. The last number handled per attempt is kept in the events themselves (<see cref="ISequencedEvent"/>),
/// so a recovered experiment still knows it.
/// </para>
/// <para>
/// Every <c>snapshot-every</c> events, and on reaching an ended state, it saves a snapshot of its state
/// (<see cref="ExperimentSnapshot"/>) and deletes the older ones, so a recovery reads one snapshot and the events after
/// it. Once ended, and idle for the passivation timeout, it asks the registry to stop it (<see cref="Passivate"/>):
/// an ended run is answered from the registry's index, and recovered on demand when a client asks for its details.
/// </para>
/// </summary>
public sealed class ExperimentActor : ReceivePersistentActor, IWithTimers
{
    public const string PersistenceIdPrefix = "experiment-";

    /// <summary>Used when the registry gives no regroup timeout (tests that build the actor alone).</summary>
    public static readonly TimeSpan DefaultRegroupTimeout = SchedulerOptions.DefaultRegroupTimeout;

    /// <summary>One rank of the current placement.</summary>
    sealed class Member(int rank, SlotAddress address, IActorRef? slot)
    {
        public int Rank { get; } = rank;
        public SlotAddress Address { get; } = address;
        /// <summary>Null after a coordinator restart until the slot says it still runs the run.</summary>
        public IActorRef? Slot { get; set; } = slot;
        /// <summary>Its fit is over: it reported how it ended, or it is lost.</summary>
        public bool Ended { get; set; }
    }

    sealed record RegroupDeadline(int Attempt);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly HashSet<IActorRef> _followers = [];
    readonly TimeSpan _regroupTimeout;
    ExperimentState _state;
    List<Member> _members = [];
    /// <summary>Why the group is re-forming; null while it is whole.</summary>
    string? _regroupReason;
    /// <summary>The first rank lost while re-forming, which says more than the ring errors of the ranks that lived.</summary>
    string? _lostReason;
    /// <summary>Cancelled while training: the workers have yet to stop and say where they stopped.</summary>
    bool _stopPending;
    TrainingOutcome? _stoppedOutcome;
    DateTimeOffset _queuedSince = DateTimeOffset.UtcNow;
    /// <summary>The last sequenced report handled, per attempt (one entry per placement the run had).</summary>
    readonly Dictionary<int, long> _handledSeq = [];
    readonly int _snapshotEvery;
    readonly TimeSpan _passivateAfter;
    long _recoveredSnapshotSeqNr;
    int _eventsReplayed;
    long _lastSnapshotSeqNr;

    public ExperimentActor(string runId, TimeSpan regroupTimeout, int snapshotEvery = SchedulerOptions.DefaultSnapshotEvery, TimeSpan? passivateAfter = null)
    {
        _state = ExperimentState.Empty(runId);
        _regroupTimeout = regroupTimeout;
        _snapshotEvery = Math.Max(1, snapshotEvery);
        _passivateAfter = passivateAfter ?? SchedulerOptions.DefaultPassivateAfter;
        PersistenceId = PersistenceIdPrefix + runId;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not ExperimentSnapshot snapshot)
                return;
            _state = ExperimentState.FromSnapshot(snapshot);
            foreach (var (attempt, seq) in snapshot.HandledSeq)
                _handledSeq[attempt] = seq;
            _recoveredSnapshotSeqNr = _lastSnapshotSeqNr = offer.Metadata.SequenceNr;
        });
        Recover<IExperimentEvent>(e =>
        {
            _eventsReplayed++;
            _state = _state.Apply(e);
            if (e is ISequencedEvent { Seq: > 0 } sequenced)
                _handledSeq[sequenced.Attempt] = Math.Max(HandledSeq(sequenced.Attempt), sequenced.Seq);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            if (!_state.IsSubmitted)
            {
                Become(AwaitingSubmission);
                return;
            }
            _queuedSince = _state.UpdatedAt;
            if (_state.Status is RunStatus.Scheduled or RunStatus.Running)
                // The slots that had it say so when they register with the restarted coordinator (SlotConfirmed).
                _members = _state.Ranks.Select((address, rank) => new Member(rank, address, null)).ToList();
            TellParent(recovered: true);
            BecomeFor(_state.Status);
            if (_state.Status.IsFinal())
            {
                // Ended before this recovery (a journal written before snapshots, or events after the last one): the
                // next recovery on demand reads one snapshot.
                if (LastSequenceNr > _lastSnapshotSeqNr)
                    SaveSnapshot(_state.ToSnapshot(_handledSeq));
                SetReceiveTimeout(_passivateAfter);
            }
        });
    }

    public static Props Props(string runId, TimeSpan? regroupTimeout = null, int snapshotEvery = SchedulerOptions.DefaultSnapshotEvery,
        TimeSpan? passivateAfter = null) =>
        Akka.Actor.Props.Create(() => new ExperimentActor(runId, regroupTimeout ?? DefaultRegroupTimeout, snapshotEvery, passivateAfter));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    string RunId => _state.RunId;

    void AwaitingSubmission()
    {
        InOrder();
        Command<Create>(create => Persist(create.Submitted, submitted =>
        {
            Apply(submitted);
            _queuedSince = submitted.At;
            _log.Info("Run {0} ({1}) submitted from {2}", RunId, submitted.Name, submitted.SubmittedFrom);
            create.Client.Tell(new SubmitAccepted(RunId, create.QueuePosition, create.MatchingSlots));
            Become(Queued);
        }));
        CommonQueries();
    }

    void Queued()
    {
        InOrder();
        Command<AssignSlots>(assign =>
        {
            var ranks = assign.Slots.Select(s => s.Address).ToList();
            var scheduled = new ExperimentScheduled(DateTimeOffset.UtcNow, ranks[0], _state.Attempt + 1, ranks.Count > 1 ? ranks : null);
            Persist(scheduled, e =>
            {
                Apply(e);
                _members = assign.Slots.Select((offer, rank) => new Member(rank, offer.Address, offer.Slot)).ToList();
                _regroupReason = null;
                _lostReason = null;
                // A fresh secret per attempt: a rank of an earlier attempt can never join this one's exchange.
                var secret = ranks.Count > 1 ? RandomNumberGenerator.GetBytes(32) : null;
                var endpoints = ranks.Select(a => a.DataEndpoint ?? "").ToList();
                foreach (var member in _members)
                {
                    Context.Watch(member.Slot!);
                    member.Slot!.Tell(new StartTraining(RunId, _state.Submitted!.ExperimentHocon,
                        _state.ResumeCandidates, e.Attempt, _state.Submitted.SourceFile,
                        secret is null ? null : new CollectiveAssignment(member.Rank, endpoints, secret), _state.Submitted.Bundle,
                        _state.Submitted.Data));
                }
                _log.Info("Run {0}: attempt {1} on {2}", RunId, e.Attempt,
                    ranks.Count == 1 ? e.Slot.ToString() : $"{ranks.Count} workers ({string.Join(", ", ranks.Select((a, r) => $"rank {r}: {a}"))})");
                Become(Placed);
            });
        });
        Command<CancelRun>(cancel => Cancel(cancel, stopSlots: false));
        CommonQueries();
    }

    void Placed()
    {
        InOrder();
        // Rank 0 creates the run directory and chooses the checkpoint every rank resumes from: its start is the run's.
        Command<TrainingStartedReport>(started => MemberOf(Sender) is { Rank: 0 }, started =>
        {
            Persist(new ExperimentStarted(DateTimeOffset.UtcNow, started.Slot, started.RunDirectory, started.ResumedFrom,
                    started.RejectedCheckpoints, started.Attempt, started.Seq),
                e =>
                {
                    Apply(e);
                    Become(Training);
                });
            Handled(started);
        });
        CommonWhileOnSlot();
    }

    void Training()
    {
        InOrder();
        PersistFacts();
        Command<ProgressReport>(p => Broadcast(new RunProgress(RunId, p.Epoch, p.Epochs, p.BatchIndex, p.BatchesPerEpoch, p.Loss, p.SamplesThisEpoch)));
        Command<TrainingFinishedReport>(finished =>
        {
            // Every rank finishes after the same step; rank 0's report carries the numbers.
            if (MemberOf(Sender) is not { } member)
                return; // not confirmed yet after a restart: the worker sends it again
            if (member.Rank == 0)
                End(new ExperimentFinished(DateTimeOffset.UtcNow, finished.Outcome, finished.Attempt, finished.Seq));
            else
                member.Ended = true;
            Handled(finished);
        });
        CommonWhileOnSlot();
    }

    void Ended()
    {
        InOrder();
        // A cancelled run still writes its last checkpoint and epoch on the way out: facts worth keeping.
        PersistFacts();
        // However a fit ends now, nothing more comes of it than letting its slot go: acknowledged in any case.
        Command<TrainingStoppedReport>(stopped => { MemberDone(Sender, stopped.Outcome); Handled(stopped); });
        Command<TrainingFinishedReport>(finished => { MemberDone(Sender, finished.Outcome); Handled(finished); });
        Command<TrainingFailedReport>(failed => { MemberDone(Sender, null); Handled(failed); });
        Command<RingLostReport>(lost => { MemberDone(Sender, null); Handled(lost); });
        Command<TrainingRefusedReport>(_ => MemberDone(Sender, null));
        Command<Terminated>(t => MemberOf(t.ActorRef) is not null, t => MemberDone(t.ActorRef, null));
        Command<IWorkerReport>(report => Handled(report)); // progress of a run that is stopping says nothing new
        Command<CancelRun>(cancel => Sender.Tell(new CancelRefused(RunId, $"run {RunId} already ended: {_state.Status.ToString().ToLowerInvariant()}.")));
        Command<SlotLost>(_ => CheckStopped()); // ranks never confirmed do not hold the stop up (see CheckStopped)
        Command<SlotConfirmed>(confirmed => confirmed.Slot.Tell(new StopTraining(RunId, $"run {RunId} already ended")));
        Command<RegroupDeadline>(_ => { });
        // Idle since it ended (and its followers were answered): the registry lists it from its index from now on.
        Command<ReceiveTimeout>(_ =>
        {
            SetReceiveTimeout(null);
            Context.Parent.Tell(new Passivate(RunId));
        });
        Command<StopExperiment>(_ => Context.Stop(Self));
        CommonQueries();
    }

    /// <summary>Placed or training: a slot may vanish or stop, the run may fail or be cancelled.</summary>
    void CommonWhileOnSlot()
    {
        // The other ranks', or rank 0's while re-forming; from a slot not confirmed yet, it waits for the confirmation.
        Command<TrainingStartedReport>(started => MemberOf(Sender) is not null, started => Handled(started));
        Command<TrainingFailedReport>(failed => MemberOf(Sender) is not null, failed =>
        {
            // A rank that fails for a reason of its own (a bug, bad input) fails the run: re-forming would fail the same way.
            var decision = Decide(new RankEvent.Failed(MemberOf(Sender)!.Rank, failed.Reason));
            End(new ExperimentFailed(DateTimeOffset.UtcNow, decision.FailReason!, failed.Kind, failed.ErrorFile, failed.Attempt, failed.Seq),
                () => Abandon(decision));
            Handled(failed);
        });
        Command<RingLostReport>(lost => MemberOf(Sender) is not null, lost =>
        {
            MemberEnded(Sender, lost: false, $"rank {lost.Rank} lost its ring: {lost.Reason}");
            Handled(lost);
        });
        Command<TrainingRefusedReport>(refused => MemberEnded(Sender, lost: true, $"{refused.Slot} refused it: {refused.Reason}"));
        Command<TrainingStoppedReport>(stopped => MemberOf(Sender) is not null, stopped =>
        {
            MemberEnded(Sender, lost: stopped.HandedBack, stopped.HandedBack
                ? $"its node handed it back ({stopped.Reason})"
                : $"its worker stopped it ({stopped.Reason})");
            Handled(stopped);
        });
        Command<SlotLost>(lost =>
        {
            // After a restart: ranks whose slot did not claim the run in time are gone; the others re-form without them.
            Carry(Decide(new RankEvent.ClaimsExpired(lost.Reason)));
        });
        Command<SlotConfirmed>(confirmed =>
        {
            if (_members.Any(m => confirmed.Slot.Equals(m.Slot)))
                return;
            if (_members.FirstOrDefault(m => m.Slot is null && !m.Ended && m.Address.SameSlot(confirmed.Address)) is not { } member)
            {
                confirmed.Slot.Tell(new StopTraining(RunId, "the coordinator has placed this run elsewhere"));
                return;
            }
            member.Slot = confirmed.Slot;
            Context.Watch(confirmed.Slot);
            _log.Info("Run {0}: {1} is still running it{2}; carrying on", RunId, confirmed.Address, _members.Count > 1 ? $" (rank {member.Rank})" : "");
        });
        Command<Terminated>(t => MemberOf(t.ActorRef) is not null, t =>
            MemberEnded(t.ActorRef, lost: true, $"{MemberOf(t.ActorRef)!.Address} stopped (its node left or crashed)"));
        Command<RegroupDeadline>(deadline => deadline.Attempt == _state.Attempt && _regroupReason is not null, _ =>
            Carry(Decide(new RankEvent.RegroupTimedOut($"it did not answer within {_regroupTimeout.TotalSeconds:0.#} s after the run began to re-form"))));
        Command<RegroupDeadline>(_ => { });
        Command<CancelRun>(cancel => Cancel(cancel, stopSlots: true));
        CommonQueries();
    }

    Member? MemberOf(IActorRef slot) => _members.FirstOrDefault(m => slot.Equals(m.Slot));

    /// <summary>A rank's fit ended while the run goes on. <paramref name="lost"/>: its slot is gone or leaving, as
    /// opposed to a rank whose ring broke under it (it is alive, and is placed again).</summary>
    void MemberEnded(IActorRef slot, bool lost, string reason)
    {
        if (MemberOf(slot) is not { Ended: false } member)
            return;
        Carry(Decide(lost ? new RankEvent.Lost([member.Rank], reason) : new RankEvent.RingBroke(member.Rank, reason)));
    }

    /// <summary>What <see cref="Regrouping"/> makes of the event; the group's new state is taken at once.</summary>
    RegroupDecision Decide(RankEvent what)
    {
        var decision = Regrouping.Decide(new GroupState(
            _members.Select(m => new RankState(m.Rank, m.Address.ToString(), m.Ended, m.Slot is not null)).ToList(), _regroupReason, _lostReason), what);
        foreach (var rank in decision.Next.Ranks)
            _members[rank.Rank].Ended = rank.Ended;
        _regroupReason = decision.Next.RegroupReason;
        _lostReason = decision.Next.LostReason;
        return decision;
    }

    /// <summary>
    /// The ranks lost are journaled first (<see cref="WorkerLost"/>); then the ranks still training abandon their ring
    /// (their fit ends at its next exchange), and once every rank has ended or is lost the run goes back to the queue.
    /// It is placed again on the live slots (the ones that were in this group among them) and every rank resumes from
    /// the newest checkpoint.
    /// </summary>
    void Carry(RegroupDecision decision)
    {
        if (decision.Lost.Count == 0)
        {
            Act(decision);
            return;
        }
        var events = decision.Lost.Select(l => new WorkerLost(DateTimeOffset.UtcNow, _state.Attempt, l.Rank, _members[l.Rank].Address, l.Reason)).ToList();
        var persisted = 0;
        PersistAll(events, e =>
        {
            Apply(e);
            _log.Warning("Run {0}: rank {1} on {2} was lost: {3}", RunId, e.Rank, e.Slot, e.Reason);
            if (++persisted == events.Count)
                Act(decision);
        });
    }

    void Act(RegroupDecision decision)
    {
        if (decision.RequeueReason is { } requeue)
        {
            Timers.Cancel("regroup");
            Requeue(requeue);
            return;
        }
        if (!decision.StartRegroupTimer)
            return;
        _log.Warning("Run {0}: re-forming its {1} workers: {2}", RunId, _members.Count, decision.Next.RegroupReason);
        Abandon(decision);
        Timers.StartSingleTimer("regroup", new RegroupDeadline(_state.Attempt), _regroupTimeout);
    }

    void Abandon(RegroupDecision decision)
    {
        foreach (var rank in decision.Abandon)
            _members[rank].Slot?.Tell(new StopTraining(RunId, decision.AbandonReason!, Abandon: true));
    }

    void CommonQueries()
    {
        Command<GetRecovery>(_ => Sender.Tell(new RecoveryReport(_recoveredSnapshotSeqNr, _eventsReplayed, _lastSnapshotSeqNr, LastSequenceNr)));
        Command<SaveSnapshotSuccess>(saved =>
        {
            var hadOne = _lastSnapshotSeqNr > 0;
            _lastSnapshotSeqNr = Math.Max(_lastSnapshotSeqNr, saved.Metadata.SequenceNr);
            // The newest snapshot and the events after it are all a recovery reads; the events themselves stay.
            if (hadOne)
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failed =>
            _log.Warning("Run {0}: its snapshot at event {1} could not be saved ({2}); it recovers from its events", RunId, failed.Metadata.SequenceNr, failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failed => _log.Warning("Run {0}: older snapshots could not be deleted ({1})", RunId, failed.Cause.Message));
        Command<AssignSlots>(assign => Sender.Tell(new SlotsDeclined(assign.Slots.Select(s => s.Slot).ToList())));
        Command<GetRun>(_ => Sender.Tell(Details()));
        Command<FollowRun>(_ =>
        {
            Sender.Tell(Details());
            if (_state.Status.IsFinal() && !_stopPending)
                Sender.Tell(Ended(_state.Outcome));
            else if (_followers.Add(Sender))
                Context.Watch(Sender);
        });
        Command<UnfollowRun>(_ => _followers.Remove(Sender));
        Command<Terminated>(t => _followers.Remove(t.ActorRef));
        Command<IWorkerReport>(report =>
        {
            _log.Warning("Run {0} is {1}; ignoring {2} from {3}", RunId, _state.Status, report.GetType().Name, Sender);
            // Queued or over: the report will never matter, so its worker may forget it. Still on a slot (one not
            // confirmed after a restart): the worker sends it again, and it is handled once the slot is confirmed.
            if (_state.Status is RunStatus.Queued || _state.Status.IsFinal())
                Handled(report);
        });
    }

    /// <summary>The facts of a run, persisted whoever sends them (a slot may be unconfirmed yet after a restart).</summary>
    void PersistFacts()
    {
        Command<EpochReport>(epoch =>
        {
            Persist(new EpochCompleted(DateTimeOffset.UtcNow, epoch.Epoch, epoch.Metrics, epoch.Attempt, epoch.Seq), Apply);
            Handled(epoch);
        });
        Command<CheckpointReport>(checkpoint =>
        {
            Persist(new CheckpointSaved(DateTimeOffset.UtcNow, checkpoint.Checkpoint, checkpoint.Attempt, checkpoint.Seq), Apply);
            Handled(checkpoint);
        });
    }

    /// <summary>
    /// First in every behaviour: sequenced reports in their order, once. One already handled is acknowledged again (its
    /// acknowledgement was lost, or it was sent again before it came); one after a gap is dropped, since its worker
    /// sends everything unacknowledged again, oldest first; one of an earlier attempt is over and acknowledged.
    /// </summary>
    void InOrder()
    {
        Command<ISequencedReport>(r => r.Seq > 0 && r.Seq <= HandledSeq(r.Attempt), r => Acknowledge(r.Attempt, HandledSeq(r.Attempt)));
        Command<ISequencedReport>(r => r.Seq > HandledSeq(r.Attempt) + 1, _ => { });
        Command<ISequencedReport>(r => r.Seq > 0 && r.Attempt < _state.Attempt, r =>
        {
            _log.Info("Run {0} is on attempt {1}; {2} of attempt {3} from {4} comes too late", RunId, _state.Attempt, r.GetType().Name, r.Attempt, Sender);
            Handled(r);
        });
    }

    long HandledSeq(int attempt) => _handledSeq.GetValueOrDefault(attempt);

    /// <summary>A sequenced report was handled: its worker hears so once whatever it persisted is in the journal.</summary>
    void Handled(IWorkerReport report)
    {
        if (report is not ISequencedReport { Seq: > 0 } sequenced)
            return;
        _handledSeq[sequenced.Attempt] = sequenced.Seq;
        Acknowledge(sequenced.Attempt, sequenced.Seq);
    }

    /// <summary>Deferred: the acknowledgement goes out after the handlers of every event persisted before it have run.</summary>
    void Acknowledge(int attempt, long seq)
    {
        var worker = Sender;
        DeferAsync(new ReportsPersisted(RunId, attempt, seq), worker.Tell);
    }

    void Cancel(CancelRun cancel, bool stopSlots)
    {
        var was = _state.Status;
        var replyTo = Sender;
        End(new ExperimentCancelled(DateTimeOffset.UtcNow, cancel.Reason), () =>
        {
            replyTo.Tell(new CancelAccepted(RunId, was));
            // Every rank stops after the same step; rank 0 writes the checkpoint.
            if (stopSlots)
                foreach (var member in _members.Where(m => !m.Ended))
                    member.Slot?.Tell(new StopTraining(RunId, $"cancelled: {cancel.Reason}"));
        });
    }

    void End(IExperimentEvent final, Action? then = null) => Persist(final, e =>
    {
        Apply(e);
        _log.Info("Run {0} {1}{2}", RunId, _state.Status.ToString().ToLowerInvariant(),
            _state.Status is RunStatus.Failed or RunStatus.Cancelled && _state.Reason is { } why ? ": " + why : "");
        Timers.Cancel("regroup");
        then?.Invoke();
        Become(Ended);
        // A cancelled run keeps its slots until the workers have stopped; anything else is over now.
        _stopPending = e is ExperimentCancelled && _members.Any(m => !m.Ended && m.Slot is not null);
        _stoppedOutcome = null;
        if (!_stopPending)
            StopConfirmed(_state.Outcome);
    });

    /// <summary>In <see cref="Ended"/>: a rank said how its fit ended (or its slot is gone).</summary>
    void MemberDone(IActorRef slot, TrainingOutcome? outcome)
    {
        if (MemberOf(slot) is not { } member)
            return;
        member.Ended = true;
        if (member.Rank == 0 && outcome is not null)
            _stoppedOutcome = outcome;
        CheckStopped();
    }

    void CheckStopped()
    {
        if (_stopPending && _members.All(m => m.Ended || m.Slot is null))
            StopConfirmed(_stoppedOutcome);
    }

    /// <summary>Nothing more will happen: followers get <see cref="RunEnded"/> and are let go.</summary>
    void StopConfirmed(TrainingOutcome? outcome)
    {
        _stopPending = false;
        ReleaseMembers();
        Broadcast(Ended(outcome));
        foreach (var follower in _followers)
            Context.Unwatch(follower);
        _followers.Clear();
        SetReceiveTimeout(_passivateAfter);
    }

    void ReleaseMembers()
    {
        foreach (var member in _members)
            if (member.Slot is not null)
                Context.Unwatch(member.Slot);
        _members = [];
        _regroupReason = null;
        _lostReason = null;
    }

    RunEnded Ended(TrainingOutcome? outcome) =>
        new(RunId, _state.Status, outcome ?? _state.Outcome, _state.Reason, _state.FailureKind, _state.ErrorFile, _state.RunDirectory);

    void Requeue(string reason) => Persist(new ExperimentRequeued(DateTimeOffset.UtcNow, reason), e =>
    {
        ReleaseMembers();
        _queuedSince = e.At;
        _log.Warning("Run {0} goes back to the queue: {1}", RunId, reason);
        Apply(e);
        Become(Queued);
    });

    /// <summary>Every event goes through here: the state changes, followers hear of it, the registry's view is updated.</summary>
    void Apply(IExperimentEvent e)
    {
        _state = _state.Apply(e);
        if (LastSequenceNr % _snapshotEvery == 0 || _state.Status.IsFinal())
            SaveSnapshot(_state.ToSnapshot(_handledSeq));
        Broadcast(new RunEventNotice(RunId, e));
        TellParent(recovered: false);
    }

    void Broadcast(object message)
    {
        foreach (var follower in _followers)
            follower.Tell(message);
    }

    void TellParent(bool recovered) =>
        Context.Parent.Tell(new ExperimentChanged(_state.Summary(), _state.Submitted?.Device ?? "cpu", _queuedSince, recovered,
            _state.Submitted?.WorkerGroup ?? WorkerGroupSpec.Single, _state.Submitted?.Bundle?.Hash));

    void BecomeFor(RunStatus status)
    {
        switch (status)
        {
            case RunStatus.Queued: Become(Queued); break;
            // After a restart the journal says where it ran; the registry confirms the slot or declares it lost.
            case RunStatus.Scheduled: Become(Placed); break;
            case RunStatus.Running: Become(Training); break;
            default: Become(Ended); break;
        }
    }

    RunDetails Details() => new(_state.Summary(), _state.History, _state.Checkpoints, _state.RunDirectory,
        _state.Submitted?.ExperimentHocon ?? "");

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "Run {0}: the journal refused {1}; the experiment stops and is recovered from the journal again", RunId, @event.GetType().Name);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
