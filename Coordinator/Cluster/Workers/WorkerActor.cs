using Akka.Actor;
using Akka.Event;
using TrainManager.Actors;
using TrainManager.Coordinator.Cluster.Protocol;
using TrainManager.Training;

namespace TrainManager.Coordinator.Cluster.Workers;

/// <summary>
/// One worker slot: runs one experiment at a time on its device. The fit runs on its own thread through a
/// <see cref="StageRunnerActor"/> (so the slot can always answer, and the stage path is observable), and everything it
/// learns goes to the coordinator. States: <see cref="Idle"/>, <see cref="Preparing"/>, <see cref="Training"/>,
/// <see cref="Leaving"/> (the node is shutting down and takes no new work).
/// </summary>
public sealed class WorkerActor : ReceiveActor
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
    sealed record JobFailed(TrainingPreparationException Error);

    const string LeavingReason = "the node is leaving the cluster";

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly SlotAddress _address;
    readonly WorkerSettings _settings;
    IActorRef _coordinator;
    string? _runId;
    TrainingJob? _job;
    string? _stopReason;
    string? _lastReportedCheckpoint;
    IActorRef? _handBackRequester;
    int _fits;

    public WorkerActor(SlotAddress address, IActorRef coordinator, WorkerSettings settings)
    {
        _address = address;
        _coordinator = coordinator;
        _settings = settings;
        Idle();
    }

    public static Props Props(SlotAddress address, IActorRef coordinator, WorkerSettings settings) =>
        Akka.Actor.Props.Create(() => new WorkerActor(address, coordinator, settings));

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
        Receive<JobReady>(ready => StartFit(ready.Job));
        Receive<JobFailed>(failed =>
        {
            _log.Warning("Run {0} could not start on {1}: {2}", _runId, _address, failed.Error.Message);
            Report(new TrainingFailedReport(_runId!, failed.Error.Message, failed.Error.Kind, failed.Error.ErrorFile));
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
            var outcome = new TrainingOutcome(result.Epochs, result.TrainLoss, result.TestLoss, result.TestAccuracy, result.Elapsed,
                result.LastCheckpoint is null ? null : Path.GetFullPath(result.LastCheckpoint), result.StopReason);
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
        Receive<GetSlotState>(_ => Sender.Tell(new SlotRegistration(Self, _address, _runId)));
        Receive<ReportTo>(reportTo => _coordinator = reportTo.Coordinator);
    }

    void Prepare(StartTraining start)
    {
        _runId = start.RunId;
        _stopReason = null;
        _lastReportedCheckpoint = null;
        _log.Info("Run {0} (attempt {1}) starts on {2}", start.RunId, start.Attempt, _address);
        var self = Self;
        var slot = _address;
        var settings = _settings;
        // Loading the data and building the model take a while; off the dispatcher, on a thread of its own.
        Task.Factory.StartNew(() => TrainingJob.Prepare(start, slot, settings, self), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .PipeTo(self, success: job => new JobReady(job),
                failure: e => new JobFailed(e as TrainingPreparationException
                    ?? new TrainingPreparationException(FailureText.Describe(e), FailureText.KindOf(e), null, e)));
        Become(Preparing);
    }

    void StartFit(TrainingJob job)
    {
        _job = job;
        if (_stopReason is { } reason)
            job.Stop.RequestStop(reason); // asked to stop while preparing: the fit ends before its first epoch
        Report(new TrainingStartedReport(job.RunId, _address, job.Run.Path, job.Resume.Checkpoint, job.Resume.Rejected));
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

    void Report(IWorkerReport report) => _coordinator.Tell(report, Self);

    void Finish()
    {
        foreach (var child in Context.GetChildren())
            Context.Stop(child);
        _job?.Dispose();
        _job = null;
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
        _coordinator.Tell(new SlotIdle(Self, _address), Self);
        Become(Idle);
    }

    protected override void PostStop()
    {
        // The actor system is going down without a hand-back (a test's abrupt stop): do not leave a fit running behind it.
        _job?.Stop.RequestStop(LeavingReason);
        base.PostStop();
    }
}
