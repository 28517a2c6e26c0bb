using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using TrainManager.Coordinator.Cluster.Protocol;
using static TrainManager.Coordinator.Cluster.Experiments.ExperimentCommands;

namespace TrainManager.Coordinator.Cluster.Experiments;

/// <summary>
/// One experiment, persisted: every fact about it is an event in the journal (<see cref="IExperimentEvent"/>) before it
/// is acted on. Its behaviours follow the run: <see cref="AwaitingSubmission"/>, <see cref="Queued"/>,
/// <see cref="Placed"/> (a slot was chosen, the worker has not confirmed), <see cref="Training"/>, <see cref="Ended"/>.
/// Followers (a CLI's <c>--follow</c>) get each event and the live progress.
/// </summary>
public sealed class ExperimentActor : ReceivePersistentActor
{
    public const string PersistenceIdPrefix = "experiment-";

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly HashSet<IActorRef> _followers = [];
    ExperimentState _state;
    IActorRef? _slot;
    /// <summary>Cancelled while training: the worker has yet to stop and say where it stopped.</summary>
    bool _stopPending;
    DateTimeOffset _queuedSince = DateTimeOffset.UtcNow;

    public ExperimentActor(string runId)
    {
        _state = ExperimentState.Empty(runId);
        PersistenceId = PersistenceIdPrefix + runId;
        Recover<IExperimentEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            if (!_state.IsSubmitted)
            {
                Become(AwaitingSubmission);
                return;
            }
            _queuedSince = _state.UpdatedAt;
            TellParent(recovered: true);
            BecomeFor(_state.Status);
        });
    }

    public static Props Props(string runId) => Akka.Actor.Props.Create(() => new ExperimentActor(runId));

    public override string PersistenceId { get; }

    string RunId => _state.RunId;

    void AwaitingSubmission()
    {
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
        Command<AssignSlot>(assign =>
        {
            var scheduled = new ExperimentScheduled(DateTimeOffset.UtcNow, assign.Address, _state.Attempt + 1);
            Persist(scheduled, e =>
            {
                Apply(e);
                _slot = assign.Slot;
                Context.Watch(assign.Slot);
                _log.Info("Run {0}: attempt {1} on {2}", RunId, e.Attempt, e.Slot);
                assign.Slot.Tell(new StartTraining(RunId, _state.Submitted!.ExperimentHocon, _state.Submitted.RunsRoot,
                    _state.ResumeCandidates, e.Attempt, _state.Submitted.SourceFile));
                Become(Placed);
            });
        });
        Command<CancelRun>(cancel => Cancel(cancel, stopSlot: false));
        CommonQueries();
    }

    void Placed()
    {
        Command<TrainingStartedReport>(started => Persist(
            new ExperimentStarted(DateTimeOffset.UtcNow, started.Slot, started.RunDirectory, started.ResumedFrom, started.RejectedCheckpoints),
            e =>
            {
                Apply(e);
                Become(Training);
            }));
        Command<TrainingRefusedReport>(refused => Requeue($"{refused.Slot} refused it: {refused.Reason}"));
        CommonWhileOnSlot();
    }

    void Training()
    {
        Command<EpochReport>(epoch => Persist(new EpochCompleted(DateTimeOffset.UtcNow, epoch.Epoch, epoch.Metrics), Apply));
        Command<CheckpointReport>(checkpoint => Persist(new CheckpointSaved(DateTimeOffset.UtcNow, checkpoint.Checkpoint), Apply));
        Command<ProgressReport>(p => Broadcast(new RunProgress(RunId, p.Epoch, p.Epochs, p.BatchIndex, p.BatchesPerEpoch, p.Loss, p.SamplesThisEpoch)));
        Command<TrainingFinishedReport>(finished => End(new ExperimentFinished(DateTimeOffset.UtcNow, finished.Outcome)));
        Command<TrainingStoppedReport>(stopped => Requeue(stopped.HandedBack
            ? $"its node handed it back ({stopped.Reason})"
            : $"its worker stopped it ({stopped.Reason})"));
        CommonWhileOnSlot();
    }

    void Ended()
    {
        // A cancelled run still writes its last checkpoint and epoch on the way out: facts worth keeping.
        Command<EpochReport>(epoch => Persist(new EpochCompleted(DateTimeOffset.UtcNow, epoch.Epoch, epoch.Metrics), Apply));
        Command<CheckpointReport>(checkpoint => Persist(new CheckpointSaved(DateTimeOffset.UtcNow, checkpoint.Checkpoint), Apply));
        Command<TrainingStoppedReport>(stopped => StopConfirmed(stopped.Outcome));
        Command<TrainingFinishedReport>(finished => StopConfirmed(finished.Outcome));
        Command<TrainingFailedReport>(_ => StopConfirmed(null));
        Command<Terminated>(t => t.ActorRef.Equals(_slot), _ => StopConfirmed(null));
        Command<IWorkerReport>(_ => { }); // progress of a run that is stopping says nothing new
        Command<CancelRun>(cancel => Sender.Tell(new CancelRefused(RunId, $"run {RunId} already ended: {_state.Status.ToString().ToLowerInvariant()}.")));
        Command<SlotLost>(_ => StopConfirmed(null));
        Command<SlotConfirmed>(confirmed => confirmed.Slot.Tell(new StopTraining(RunId, $"run {RunId} already ended")));
        CommonQueries();
    }

    /// <summary>Placed or training: the slot may vanish, the run may fail or be cancelled.</summary>
    void CommonWhileOnSlot()
    {
        Command<TrainingFailedReport>(failed => End(new ExperimentFailed(DateTimeOffset.UtcNow, failed.Reason, failed.Kind, failed.ErrorFile)));
        Command<SlotLost>(lost => Requeue(lost.Reason));
        Command<SlotConfirmed>(confirmed =>
        {
            _slot = confirmed.Slot;
            Context.Watch(confirmed.Slot);
            _log.Info("Run {0}: {1} is still running it; carrying on", RunId, confirmed.Address);
        });
        Command<Terminated>(t => t.ActorRef.Equals(_slot), _ => Requeue($"{_state.Slot} stopped (its node left or crashed)"));
        Command<CancelRun>(cancel => Cancel(cancel, stopSlot: true));
        CommonQueries();
    }

    void CommonQueries()
    {
        Command<AssignSlot>(assign => Sender.Tell(new SlotDeclined(assign.Slot)));
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
        Command<IWorkerReport>(report => _log.Warning("Run {0} is {1}; ignoring {2} from {3}", RunId, _state.Status, report.GetType().Name, Sender));
    }

    void Cancel(CancelRun cancel, bool stopSlot)
    {
        var was = _state.Status;
        var replyTo = Sender;
        End(new ExperimentCancelled(DateTimeOffset.UtcNow, cancel.Reason), () =>
        {
            replyTo.Tell(new CancelAccepted(RunId, was));
            if (stopSlot)
                _slot?.Tell(new StopTraining(RunId, $"cancelled: {cancel.Reason}"));
        });
    }

    void End(IExperimentEvent final, Action? then = null) => Persist(final, e =>
    {
        Apply(e);
        _log.Info("Run {0} {1}{2}", RunId, _state.Status.ToString().ToLowerInvariant(), _state.Reason is { } why ? ": " + why : "");
        then?.Invoke();
        Become(Ended);
        // A cancelled run keeps its slot until the worker has stopped; anything else is over now.
        _stopPending = e is ExperimentCancelled && _slot is not null;
        if (!_stopPending)
            StopConfirmed(_state.Outcome);
    });

    /// <summary>Nothing more will happen: followers get <see cref="RunEnded"/> and are let go.</summary>
    void StopConfirmed(TrainingOutcome? outcome)
    {
        _stopPending = false;
        if (_slot is not null)
            Context.Unwatch(_slot);
        _slot = null;
        Broadcast(Ended(outcome));
        foreach (var follower in _followers)
            Context.Unwatch(follower);
        _followers.Clear();
    }

    RunEnded Ended(TrainingOutcome? outcome) =>
        new(RunId, _state.Status, outcome ?? _state.Outcome, _state.Reason, _state.FailureKind, _state.ErrorFile, _state.RunDirectory);

    void Requeue(string reason) => Persist(new ExperimentRequeued(DateTimeOffset.UtcNow, reason), e =>
    {
        if (_slot is not null)
            Context.Unwatch(_slot);
        _slot = null;
        _queuedSince = e.At;
        _log.Warning("Run {0} goes back to the queue: {1}", RunId, reason);
        Apply(e);
        Become(Queued);
    });

    /// <summary>Every event goes through here: the state changes, followers hear of it, the registry's view is updated.</summary>
    void Apply(IExperimentEvent e)
    {
        _state = _state.Apply(e);
        Broadcast(new RunEventNotice(RunId, e));
        TellParent(recovered: false);
    }

    void Broadcast(object message)
    {
        foreach (var follower in _followers)
            follower.Tell(message);
    }

    void TellParent(bool recovered) =>
        Context.Parent.Tell(new ExperimentChanged(_state.Summary(), _state.Submitted?.Device ?? "cpu", _queuedSince, recovered));

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
