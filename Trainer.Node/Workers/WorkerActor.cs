using Akka.Actor;
using Akka.Event;
using TrainManager.Actors;
using TrainManager.Protocol;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Training;

namespace TrainManager.Node.Workers;

/// <summary>
/// One worker slot: runs one experiment at a time on its device. The fit runs on its own thread through a
/// <see cref="StageRunnerActor"/> (so the slot can always answer, and the stage path is observable), and everything it
/// learns goes to the coordinator. States: <see cref="Idle"/>, <see cref="Preparing"/>, <see cref="Training"/>,
/// <see cref="Reporting"/> (the fit is over, the coordinator has yet to persist how it went), <see cref="Leaving"/> (the
/// node is shutting down and takes no new work).
/// <para>
/// The facts the journal keeps (started, each epoch and checkpoint, how the fit ended) go through a
/// <see cref="ReportOutbox"/>: numbered, and sent again with backoff until the coordinator says they are persisted, so a
/// coordinator that crashes or moves loses none of them. The slot is idle again only once the last of them is.
/// </para>
/// </summary>
public sealed class WorkerActor : ReceiveActor, IWithTimers
{
    /// <summary>Ask a slot what it runs; answered with <see cref="SlotRegistration"/>.</summary>
    public sealed record GetSlotState
    {
        public static GetSlotState Instance { get; } = new();
    }

    /// <summary>The node is leaving: stop the run after its batch (it is resumed elsewhere) and take no more; answered
    /// with <see cref="HandedBack"/> once the run has stopped and been reported.</summary>
    public sealed record HandBack
    {
        public static HandBack Instance { get; } = new();
    }

    public sealed record HandedBack(SlotAddress Slot, string? RunId);

    /// <summary>Send reports to this coordinator from now on (the registry that asked this node for its slots, or the proxy).</summary>
    public sealed record ReportTo(IActorRef Coordinator);

    sealed record JobReady(TrainingJob Job);
    sealed record ResendReports
    {
        public static ResendReports Instance { get; } = new();
    }
    sealed record JobFailed(Exception Error);

    const string LeavingReason = "the node is leaving the cluster";

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly SlotAddress _address;
    readonly WorkerSettings _settings;
    readonly RingListener? _listener;
    IActorRef _coordinator;
    string? _runId;
    int _rank;
    TrainingJob? _job;
    /// <summary>Cancels the preparation (forming the ring waits for the other ranks) when the run re-forms.</summary>
    CancellationTokenSource? _preparing;
    /// <summary>The run is re-forming: however this fit ends, it ended because its ring was abandoned.</summary>
    bool _abandoned;
    string? _stopReason;
    string? _lastReportedCheckpoint;
    IActorRef? _handBackRequester;
    int _fits;
    readonly ReportOutbox _outbox = new();
    /// <summary>The run whose fit is over while its last reports wait to be persisted (<see cref="Reporting"/>).</summary>
    string? _reportingRunId;

    /// <param name="listener">Where this slot accepts the gradient connections of data-parallel runs (its address is
    /// <see cref="SlotAddress.DataEndpoint"/>); it outlives the actor (whoever started it closes it, when the actor
    /// system ends). Null: the slot runs only single-worker runs.</param>
    public WorkerActor(SlotAddress address, IActorRef coordinator, WorkerSettings settings, RingListener? listener = null)
    {
        _address = address;
        _coordinator = coordinator;
        _settings = settings;
        _listener = listener;
        Idle();
    }

    public static Props Props(SlotAddress address, IActorRef coordinator, WorkerSettings settings, RingListener? listener = null) =>
        Akka.Actor.Props.Create(() => new WorkerActor(address, coordinator, settings, listener));

    public ITimerScheduler Timers { get; set; } = null!;

    void Idle()
    {
        Receive<StartTraining>(Prepare);
        Receive<StopTraining>(_ => { });
        Receive<HandBack>(_ =>
        {
            Sender.Tell(new HandedBack(_address, null));
            Become(Leaving);
        });
        ReceiveSlotState();
    }

    void Preparing()
    {
        Receive<JobReady>(ready => _abandoned, ready =>
        {
            // Ready just as the run began to re-form: it never trained, and must not join a broken ring.
            ready.Job.Dispose();
            ReportRingLost("the run re-formed while this rank was preparing");
        });
        Receive<JobReady>(ready => StartFit(ready.Job));
        Receive<JobFailed>(failed =>
        {
            if (_abandoned || FailureText.IsPeerLoss(failed.Error, transport: null))
            {
                ReportRingLost(FailureText.Describe(failed.Error));
                return;
            }
            var error = failed.Error as TrainingPreparationException
                ?? new TrainingPreparationException(FailureText.Describe(failed.Error), FailureText.KindOf(failed.Error), null, failed.Error);
            _log.Warning("Run {0} could not start on {1}: {2}", _runId, _address, error.Message);
            Report(new TrainingFailedReport(_runId!, error.Message, error.Kind, error.ErrorFile));
            Finish();
        });
        ReceiveWhileBusy();
    }

    void Training()
    {
        Receive<IWorkerReport>(report =>
        {
            // From the training thread.
            if (report is CheckpointReport checkpoint)
                _lastReportedCheckpoint = checkpoint.Checkpoint.Path;
            Report(report);
        });
        Receive<StageRunnerProtocol.RoutineCompleted>(completed =>
        {
            var result = (FitResult)completed.Result!;
            var outcome = new TrainingOutcome(result.Epochs, result.TrainLoss, result.Metric("test_loss"), result.Metric("test_accuracy"), result.Elapsed,
                result.LastCheckpoint is null ? null : Path.GetFullPath(result.LastCheckpoint), result.StopReason,
                new Dictionary<string, double>(result.Metrics));
            ReportFinalCheckpoint(result);
            if (_job!.Stop.Reason is { } reason)
                Report(new TrainingStoppedReport(_runId!, reason, _handBackRequester is not null || reason == LeavingReason, outcome));
            else
                Report(new TrainingFinishedReport(_runId!, outcome));
            _log.Info("Run {0} on {1} ended after {2} epochs{3}", _runId, _address, result.Epochs, result.StopReason is { } why ? $" ({why})" : "");
            Finish();
        });
        Receive<Status.Failure>(failure =>
        {
            var error = failure.Cause;
            if (_abandoned || FailureText.IsPeerLoss(error, _job?.DataParallel?.Transport))
            {
                // Not the run's fault: a peer went away. The run re-forms and resumes from its last checkpoint.
                ReportRingLost(FailureText.Describe(error));
                return;
            }
            if (FailureText.KindOf(error) == FailureKind.BadInput && _job!.DiscardNewRunDirectory())
            {
                _log.Warning("Run {0} could not train on {1}: {2}", _runId, _address, FailureText.Describe(error));
                Report(new TrainingFailedReport(_runId!, FailureText.Describe(error), FailureKind.BadInput, null));
                Finish();
                return;
            }
            var errorFile = _job!.WriteError(error);
            if (_job.Stop.Reason is { } stopReason && _job.Trainer.Checkpoints?.Latest() is { } latest)
            {
                // It failed on its way out after we asked it to stop (an extension's end-of-epoch hook, say), with its
                // checkpoint written: the run is not lost, it is stopped like any other and resumes from that checkpoint.
                _log.Warning("Run {0} failed while stopping on {1} ({2}); it keeps its checkpoint {3}. Full error: {4}",
                    _runId, _address, FailureText.Describe(error), latest, errorFile);
                ReportCheckpoint(latest, new Dictionary<string, double>());
                Report(new TrainingStoppedReport(_runId!, stopReason, _handBackRequester is not null || stopReason == LeavingReason,
                    new TrainingOutcome(0, double.NaN, double.NaN, double.NaN, TimeSpan.Zero, latest, stopReason)));
                Finish();
                return;
            }
            _log.Warning("Run {0} failed on {1}: {2}", _runId, _address, FailureText.Describe(error));
            Report(new TrainingFailedReport(_runId!, FailureText.Describe(error), FailureText.KindOf(error), errorFile));
            Finish();
        });
        ReceiveWhileBusy();
    }

    /// <summary>The fit is over and the slot free for the worker, but not yet for the scheduler: it still claims the run
    /// (so a restarted coordinator keeps it) until the coordinator has persisted the run's last reports.</summary>
    void Reporting()
    {
        Receive<StartTraining>(start =>
            _coordinator.Tell(new TrainingRefusedReport(start.RunId, _address, $"it is still reporting how {_reportingRunId} ended"), Self));
        Receive<StopTraining>(_ => { });
        Receive<HandBack>(_ =>
        {
            _log.Warning("Run {0}: the node is leaving with {1} report(s) the coordinator has not confirmed", _reportingRunId, _outbox.Count);
            Sender.Tell(new HandedBack(_address, null));
            _reportingRunId = null;
            Become(Leaving);
        });
        ReceiveSlotState();
    }

    void Leaving()
    {
        Receive<StartTraining>(start => Report(new TrainingRefusedReport(start.RunId, _address, LeavingReason)));
        Receive<HandBack>(_ => Sender.Tell(new HandedBack(_address, null)));
        Receive<StopTraining>(_ => { });
        ReceiveSlotState();
    }

    void ReceiveWhileBusy()
    {
        Receive<StartTraining>(start =>
            _coordinator.Tell(new TrainingRefusedReport(start.RunId, _address, $"it is running {_runId}"), Self));
        Receive<StopTraining>(stop => stop.RunId == _runId && stop.Abandon, stop => Abandon(stop.Reason));
        Receive<StopTraining>(stop => stop.RunId == _runId, stop => RequestStop(stop.Reason));
        Receive<StopTraining>(_ => { });
        Receive<HandBack>(_ =>
        {
            _handBackRequester = Sender;
            RequestStop(LeavingReason);
        });
        ReceiveSlotState();
    }

    void ReceiveSlotState()
    {
        Receive<GetSlotState>(_ => Sender.Tell(new SlotRegistration(Self, _address, _runId ?? _reportingRunId)));
        Receive<ReportTo>(reportTo =>
        {
            _coordinator = reportTo.Coordinator;
            // A coordinator that has just asked for our slots is alive: what it may have missed goes to it now.
            if (!_outbox.IsEmpty)
                Resend();
        });
        Receive<ReportsPersisted>(Acknowledged);
        Receive<ResendReports>(_ => Resend());
    }

    void Acknowledged(ReportsPersisted persisted)
    {
        if (!_outbox.Acknowledge(persisted.RunId, persisted.Attempt, persisted.Seq) || !_outbox.IsEmpty)
            return;
        Timers.Cancel(nameof(ResendReports));
        if (_reportingRunId is not null)
        {
            _reportingRunId = null;
            _coordinator.Tell(new SlotIdle(Self, _address), Self);
            Become(Idle);
        }
    }

    void Resend()
    {
        if (_outbox.IsEmpty)
            return;
        foreach (var report in _outbox.DueForRetry())
            _coordinator.Tell(report, Self);
        Timers.StartSingleTimer(nameof(ResendReports), ResendReports.Instance, _outbox.RetryDelay);
    }

    void Prepare(StartTraining start)
    {
        _runId = start.RunId;
        _rank = start.Collective?.Rank ?? 0;
        _stopReason = null;
        _abandoned = false;
        _lastReportedCheckpoint = null;
        if (_rank == 0)
            _outbox.Begin(start.RunId, start.Attempt);
        _log.Info("Run {0} (attempt {1}) starts on {2}{3}", start.RunId, start.Attempt, _address,
            start.Collective is { } collective ? $" as rank {collective.Rank} of {collective.WorldSize}" : "");
        var self = Self;
        var slot = _address;
        var settings = _settings;
        var listener = _listener;
        var coordinator = _coordinator;
        var system = Context.System;
        var preparing = _preparing = new CancellationTokenSource();
        // Loading the data and building the model take a while; off the dispatcher, on a thread of its own.
        Task.Factory.StartNew(() => TrainingJob.Prepare(start, slot, settings, self, listener, preparing.Token, coordinator, system), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .PipeTo(self, success: job => new JobReady(job), failure: e => new JobFailed(e));
        Become(Preparing);
    }

    /// <summary>The run is re-forming without some rank: close this rank's ring now (or stop forming it).</summary>
    void Abandon(string reason)
    {
        if (_abandoned)
            return;
        _abandoned = true;
        _log.Info("Run {0} on {1}: abandoning its ring ({2})", _runId, _address, reason);
        _preparing?.Cancel();
        _job?.AbandonExchange();
    }

    void ReportRingLost(string reason)
    {
        _log.Info("Run {0} on {1} (rank {2}) left its ring: {3}", _runId, _address, _rank, reason);
        Report(new RingLostReport(_runId!, _rank, reason));
        Finish();
    }

    void StartFit(TrainingJob job)
    {
        _job = job;
        if (_stopReason is { } reason)
            job.Stop.RequestStop(reason); // asked to stop while preparing: the fit ends before its first epoch
        Report(new TrainingStartedReport(job.RunId, _address, job.RunPath, job.Resume.Checkpoint, job.Resume.Rejected));
        if (job.DataParallel?.Transport is { } transport)
            _log.Info("Run {0} on {1}: rank {2} of {3} exchanges gradients over the {4} transport", job.RunId, _address, transport.Rank, transport.WorldSize, transport.Name);
        var runner = Context.ActorOf(StageRunnerActor.Props(job.Trainer), $"fit-{++_fits}");
        runner.Tell(new StageRunnerProtocol.Run("fit", () => job.Fit()));
        Become(Training);
    }

    /// <summary>
    /// The checkpoint a stopped fit writes on its way out is saved after the stop was requested, when the stage engine
    /// no longer runs hooks, so <see cref="RunReporter"/> never sees it. It is the one a resume needs most.
    /// </summary>
    void ReportFinalCheckpoint(FitResult result)
    {
        if (result.LastCheckpoint is not null)
            ReportCheckpoint(result.LastCheckpoint, result.History.Count > 0 ? result.History[^1] : new Dictionary<string, double>());
    }

    void ReportCheckpoint(string checkpoint, IReadOnlyDictionary<string, double> metrics)
    {
        if (_job!.Rank != 0)
            return; // rank 0 writes the checkpoints, and reports them
        var path = Path.GetFullPath(checkpoint);
        if (path == _lastReportedCheckpoint || path == _job!.Resume.Checkpoint?.Path || !File.Exists(path))
            return;
        var info = _job.Trainer.Checkpoints!.ReadInfo(path);
        _lastReportedCheckpoint = path;
        Report(new CheckpointReport(_runId!, new CheckpointRecord(path, CheckpointChecksum.Of(path), info.Metadata.Epoch, info.Metadata.Step,
            new Dictionary<string, double>(metrics))));
    }

    void RequestStop(string reason)
    {
        _stopReason ??= reason;
        _job?.Stop.RequestStop(reason);
    }

    /// <summary>Rank 0's facts of the run go through the outbox; the rest (progress, a refusal, the reports of a rank
    /// &gt; 0) are sent once.</summary>
    void Report(IWorkerReport report)
    {
        if (report is ISequencedReport sequenced && _rank == 0 && report.RunId == _outbox.RunId)
        {
            report = _outbox.Add(sequenced);
            if (!Timers.IsTimerActive(nameof(ResendReports)))
                Timers.StartSingleTimer(nameof(ResendReports), ResendReports.Instance, _outbox.RetryDelay);
        }
        _coordinator.Tell(report, Self);
    }

    void Finish()
    {
        foreach (var child in Context.GetChildren())
            Context.Stop(child);
        _job?.Dispose();
        _job = null;
        _preparing?.Dispose();
        _preparing = null;
        var runId = _runId;
        _runId = null;
        if (_handBackRequester is { } requester)
        {
            requester.Tell(new HandedBack(_address, runId));
            _handBackRequester = null;
            // No SlotIdle: the scheduler must not place anything here again; the slot disappears with the node.
            Become(Leaving);
            return;
        }
        if (!_outbox.IsEmpty)
        {
            // Free only once the coordinator has the run's end: until then a restarted one must still find the run here.
            _reportingRunId = runId;
            Become(Reporting);
            return;
        }
        _coordinator.Tell(new SlotIdle(Self, _address), Self);
        Become(Idle);
    }

    protected override void PostStop()
    {
        // The actor system is going down without a hand-back (a test's abrupt stop): do not leave a fit running behind it.
        _job?.Stop.RequestStop(LeavingReason);
        _preparing?.Cancel();
        base.PostStop();
    }
}
