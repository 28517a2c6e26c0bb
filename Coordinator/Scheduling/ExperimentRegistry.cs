using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using TrainManager.Protocol.Configuration;
using TrainManager.Coordinator.Bundles;
using TrainManager.Coordinator.Experiments;
using TrainManager.Coordinator.Scheduling.Decisions;
using TrainManager.Protocol;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Training;
using static TrainManager.Coordinator.Experiments.ExperimentCommands;

namespace TrainManager.Coordinator.Scheduling;

/// <summary>
/// The coordinator: it owns every <see cref="ExperimentActor"/> (its children), knows every worker slot in the cluster,
/// and places queued experiments on free slots, first come first served. A data-parallel experiment takes one slot per
/// worker, spread over the nodes; it waits for all of them, or after its replacement wait for at least its minimum.
/// <para>
/// It runs as a cluster singleton (on the oldest node with role <c>coordinator</c>) rather than as sharded entities
/// because placement is one decision over the whole cluster: a slot must never be given to two runs, and a queue
/// is only fair if one actor orders it. The load is small (a message per epoch and a few progress messages a second
/// per run), so one actor is not a bottleneck, and the journal, shared by the coordinator nodes, lets the singleton
/// move to another node and recover everything there.
/// </para>
/// <para>
/// Only runs that have not ended are live actors. An ended run is known through the index of ended runs
/// (<see cref="RunIndex"/>): <c>runs</c> is answered from it, and a request for the run's details (<c>logs</c>,
/// <c>checkpoints</c>, <c>status RUN</c>) or a late worker report starts its experiment again, which recovers from its
/// snapshot, answers, and asks to stop once idle (<see cref="Passivate"/>). Each experiment runs under a
/// <see cref="BackoffSupervisor"/>: a persistent actor stops when its journal write fails, and the supervisor recovers it
/// again after a growing wait (<c>restart-backoff-min</c> to <c>restart-backoff-max</c>).
/// </para>
/// States: <see cref="LoadingJournal"/> (requests wait) and <see cref="Scheduling"/>.
/// </summary>
public sealed class ExperimentRegistry : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    public const string SlotsActorName = "worker-slots";

    readonly SchedulerOptions _options;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    readonly Dictionary<string, IActorRef> _experiments = new(StringComparer.Ordinal);
    readonly Dictionary<string, ExperimentChanged> _views = new(StringComparer.Ordinal);
    /// <summary>Every ended run, live or not: what <c>runs</c> lists of the ones that are not live.</summary>
    readonly Dictionary<string, RunSummary> _ended = new(StringComparer.Ordinal);
    /// <summary>Experiments stopping after <see cref="Passivate"/>, with the requests that came meanwhile (delivered
    /// to the run started again once it has stopped).</summary>
    readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);
    /// <summary>The index of ended runs; only on a coordinator that recovers the journal (one writer per journal).</summary>
    IActorRef? _index;
    /// <summary>Experiments started from the journal that have not reported their state yet: <c>runs</c> waits for
    /// them (up to <see cref="ListWait"/>) rather than answer without them.</summary>
    readonly HashSet<string> _recovering = new(StringComparer.Ordinal);
    readonly List<IActorRef> _waitingLists = [];
    static readonly TimeSpan ListWait = TimeSpan.FromSeconds(10);
    readonly Dictionary<string, QueuedRun> _queue = new(StringComparer.Ordinal);
    /// <summary>The queue in the order it is served, kept so that a placement reads only its head.</summary>
    readonly SortedSet<QueuedRun> _serveOrder = new(QueuedRun.ServeOrder);
    /// <summary>Runs the journal says were training when this coordinator started, whose slots may still claim them.</summary>
    readonly HashSet<string> _unconfirmed = new(StringComparer.Ordinal);
    /// <summary>Slots that say they run a run whose experiment is still recovering: judged when it has.</summary>
    readonly Dictionary<string, List<SlotTable.Slot>> _claims = new(StringComparer.Ordinal);
    readonly SlotTable _slots = new();
    readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    readonly string _keyId;
    readonly BundleStoreSetup? _bundleSetup;
    /// <summary>The bundle store (a child), when this coordinator keeps bundles.</summary>
    IActorRef? _bundles;
    /// <summary>The bundle each run that has not ended uses: what the retention rule must keep.</summary>
    readonly Dictionary<string, string> _bundleInUse = new(StringComparer.Ordinal);
    bool _bundleInUseChanged = true;

    public ExperimentRegistry(SchedulerOptions options, BundleStoreSetup? bundles = null)
    {
        _options = options;
        _bundleSetup = bundles;
        _keyId = TrainManager.Protocol.Security.ClusterSecret.FromConfig(Context.System.Settings.Config)?.KeyId ?? "(none)";
        if (options.RecoverOnStart)
            LoadingJournal();
        else
        {
            Scheduling();
            Self.Tell(PublishInUse.Instance);
        }
    }

    public static Props Props(SchedulerOptions options, BundleStoreSetup? bundles = null) =>
        Akka.Actor.Props.Create(() => new ExperimentRegistry(options, bundles));

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    sealed record PublishInUse
    {
        public static PublishInUse Instance { get; } = new();
    }

    sealed record JournalLoaded(IReadOnlyList<string> RunIds);
    sealed record ListWaitOver;

    /// <summary>Which experiments are live actors now: answered with <see cref="LiveExperiments"/> (diagnostics, tests,
    /// the restart benchmark).</summary>
    public sealed record GetLiveExperiments
    {
        public static GetLiveExperiments Instance { get; } = new();
    }

    public sealed record LiveExperiments(IReadOnlyList<string> RunIds);
    sealed record JournalUnavailable(Exception Cause);
    sealed record RetryJournal;
    sealed record ConfirmationDeadline(string RunId);

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.InitialStateAsEvents, typeof(ClusterEvent.MemberUp));
        if (_options.RecoverOnStart)
            // The index first: the journal's experiments it lists as ended are not started.
            _index = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(RunIndex.Props(_options.SnapshotEvery), "index",
                RestartBackoffMin, RestartBackoffMax, 0.2, -1)), "run-index");
        if (_bundleSetup is { } bundles)
            _bundles = Context.ActorOf(BundleStoreActor.Props(bundles.Store, bundles.Options, bundles.Key, bundles.FrameworkVersion), "bundles");
        _log.Info("Coordinator started on {0}", _cluster.SelfAddress);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    void LoadJournal()
    {
        var prefix = ExperimentActor.PersistenceIdPrefix;
        ICurrentPersistenceIdsQuery journal;
        try
        {
            journal = Akka.Persistence.Query.PersistenceQuery.Get(Context.System).ReadJournalFor<ICurrentPersistenceIdsQuery>(_options.QueryJournalId);
        }
        catch (Exception e)
        {
            // The SQL query plugin asks its journal once when made, within 5 s: a database that is slow to answer (a
            // first start creating its tables, a loaded machine) must delay the coordinator, not stop it for good.
            Self.Tell(new JournalUnavailable(e));
            return;
        }
        journal.CurrentPersistenceIds()
            .Where(id => id.StartsWith(prefix, StringComparison.Ordinal))
            .Select(id => id[prefix.Length..])
            .RunWith(Sink.Seq<string>(), Context.System.Materializer())
            .PipeTo(Self, success: ids => new JournalLoaded(ids.ToList()), failure: e => new JournalUnavailable(e));
    }

    void LoadingJournal()
    {
        Receive<RunIndex.Loaded>(index =>
        {
            foreach (var run in index.Runs)
                _ended[run.RunId] = run;
            LoadJournal();
        });
        Receive<JournalLoaded>(loaded =>
        {
            var unended = loaded.RunIds.Where(id => !_ended.ContainsKey(id)).ToList();
            _log.Info("Recovering {0} experiments from the journal; {1} ended ones are listed from the index", unended.Count, loaded.RunIds.Count - unended.Count);
            foreach (var runId in unended)
                Experiment(runId);
            _recovering.UnionWith(unended);
            if (_recovering.Count > 0)
                Timers.StartSingleTimer("list-wait", new ListWaitOver(), ListWait);
            Become(Scheduling);
            PublishBundlesInUse();
            Stash.UnstashAll();
        });
        Receive<JournalUnavailable>(failed =>
        {
            _log.Error(failed.Cause, "Cannot list the experiments in the journal; retrying in 5 s. Check the persistence settings in cluster.hocon (trainmanager.persistence) and that the database is reachable.");
            Timers.StartSingleTimer("journal", new RetryJournal(), TimeSpan.FromSeconds(5));
        });
        Receive<RetryJournal>(_ => LoadJournal());
        // Slots, members and clients wait: a slot that says it runs a run can only be judged once the runs are known.
        ReceiveAny(_ => Stash.Stash());
    }

    void Scheduling()
    {
        Receive<SubmitExperiment>(Submit);
        Receive<PublishInUse>(_ => PublishBundlesInUse());
        Receive<OfferBundle>(offer =>
        {
            if (_bundles is null)
                Sender.Tell(new BundleRefused(offer.Bundle.Hash, "this coordinator keeps no bundles of training projects; it was started without a bundle store."));
            else
                _bundles.Forward(offer);
        });
        Receive<FetchBundle>(fetch =>
        {
            if (_bundles is null)
                Sender.Tell(new BundleUnavailable(fetch.Hash, "this coordinator keeps no bundles of training projects."));
            else
                _bundles.Forward(fetch);
        });
        Receive<ListRuns>(_ =>
        {
            if (_recovering.Count > 0)
                _waitingLists.Add(Sender);
            else
                Sender.Tell(RunList());
        });
        Receive<ListWaitOver>(_ =>
        {
            _log.Warning("{0} experiments have not recovered within {1} s; listing the runs without them", _recovering.Count, ListWait.TotalSeconds);
            _recovering.Clear();
            AnswerWaitingLists();
        });
        Receive<GetLiveExperiments>(_ => Sender.Tell(new LiveExperiments(_experiments.Keys.Where(id => !_passivating.ContainsKey(id)).Order(StringComparer.Ordinal).ToList())));
        Receive<Passivate>(passivate =>
        {
            // Held back while it stops: its supervisor stops with it (the final stop message), not restarting it.
            if (_experiments.TryGetValue(passivate.RunId, out var experiment) && !_passivating.ContainsKey(passivate.RunId)
                && _views.TryGetValue(passivate.RunId, out var view) && view.Summary.Status.IsFinal())
            {
                _passivating[passivate.RunId] = [];
                experiment.Tell(StopExperiment.Instance);
            }
        });
        Receive<RunIndex.Loaded>(_ => { }); // the index was restarted after a failure: this registry already knows
        Receive<GetRun>(get => ForwardToRun(get.RunId, id => new GetRun(id)));
        Receive<FollowRun>(follow => ForwardToRun(follow.RunId, id => new FollowRun(id)));
        Receive<UnfollowRun>(unfollow => ForwardToRun(unfollow.RunId, id => new UnfollowRun(id), quiet: true));
        Receive<CancelRun>(cancel => ForwardToRun(cancel.RunId, id => cancel with { RunId = id }));
        Receive<IWorkerReport>(ForwardReport);
        Receive<ExperimentChanged>(Changed);
        Receive<SlotsDeclined>(declined =>
        {
            foreach (var actor in declined.Slots)
                if (_slots.Find(actor) is { } slot)
                    slot.RunId = null;
            Place();
        });
        Receive<PlaceAgain>(_ => Place());
        Receive<ConfirmationDeadline>(deadline =>
        {
            // The experiment knows which of its ranks were claimed; the others are lost.
            if (_unconfirmed.Remove(deadline.RunId) && _experiments.TryGetValue(deadline.RunId, out var experiment))
                experiment.Tell(new SlotLost(
                    $"no worker reported running it within {_options.ConfirmationGrace.TotalSeconds:0.#} s after the coordinator restarted"));
        });
        ReceiveSlotsAndMembers();
    }

    void ReceiveSlotsAndMembers()
    {
        Receive<ClusterEvent.MemberUp>(up =>
        {
            // Workers register by themselves when they start; asking covers a coordinator that starts after them.
            if (up.Member.HasRole(NodeRoles.Worker))
                Context.ActorSelection(new RootActorPath(up.Member.Address) / "user" / SlotsActorName).Tell(ReportSlots.Instance);
        });
        Receive<RegisterSlots>(Register);
        Receive<SlotIdle>(idle =>
        {
            if (_slots.Find(idle.Slot) is { } slot)
            {
                slot.RunId = null;
                Place();
            }
            else
                Context.ActorSelection(idle.Slot.Path.Root / "user" / SlotsActorName).Tell(ReportSlots.Instance);
        });
        Receive<Terminated>(t =>
        {
            if (_slots.Remove(t.ActorRef) is { } slot)
            {
                _log.Info("{0} is gone{1}", slot.Address, slot.RunId is { } run ? $" (it ran {run})" : "");
                foreach (var claims in _claims.Values)
                    claims.Remove(slot);
            }
            else if (RunOf(t.ActorRef) is { } runId && _experiments.TryGetValue(runId, out var stopped) && stopped.Equals(t.ActorRef))
            {
                // Passivated (a failed journal write restarts it under its supervisor, never ends here): requests that
                // came while it stopped start it again.
                _experiments.Remove(runId);
                _views.Remove(runId);
                if (_passivating.Remove(runId, out var waiting) && waiting.Count > 0)
                {
                    var again = Experiment(runId);
                    foreach (var (message, sender) in waiting)
                        again.Tell(message, sender);
                }
            }
        });
    }

    sealed record PlaceAgain;

    void Register(RegisterSlots registration)
    {
        foreach (var offered in registration.Slots)
        {
            if (_slots.Add(offered.Slot, offered.Address))
            {
                Context.Watch(offered.Slot);
                _log.Info("Worker slot {0} joined", offered.Address);
            }
            var slot = _slots.Find(offered.Slot)!;
            var verdict = ClaimReconciliation.Judge(offered.RunId, slot.RunId, offered.RunId is not { } claimed ? ClaimedRun.Settled
                : !_experiments.ContainsKey(claimed) ? ClaimedRun.Unknown
                : !_views.ContainsKey(claimed) ? ClaimedRun.Recovering
                : _unconfirmed.Contains(claimed) ? ClaimedRun.AwaitingClaims
                : ClaimedRun.Settled);
            if (verdict == ClaimVerdict.Nothing)
                continue;
            var runId = offered.RunId!;
            slot.RunId = runId;
            Carry(verdict, slot, runId);
        }
        Place();
    }

    void Carry(ClaimVerdict verdict, SlotTable.Slot slot, string runId)
    {
        switch (verdict)
        {
            case ClaimVerdict.Confirm: Confirm(slot, runId); break;
            case ClaimVerdict.StopCopy: StopCopy(slot, runId); break;
            case ClaimVerdict.Defer: Claims(runId).Add(slot); break; // its experiment is still reading the journal
        }
    }

    /// <summary>The slot is still running a run the journal says was training: it carries on there.</summary>
    void Confirm(SlotTable.Slot slot, string runId) => _experiments[runId].Tell(new SlotConfirmed(slot.Actor, slot.Address));

    List<SlotTable.Slot> Claims(string runId)
    {
        if (!_claims.TryGetValue(runId, out var claims))
            _claims[runId] = claims = [];
        return claims;
    }

    /// <summary>The slot runs a copy of a run that was placed elsewhere, ended, or is unknown: it must not write over the real one.</summary>
    void StopCopy(SlotTable.Slot slot, string runId) =>
        slot.Actor.Tell(new StopTraining(runId, "the coordinator has placed this run elsewhere or ended it"));

    void Submit(SubmitExperiment submit)
    {
        if (submit.RunsRoot is not null)
        {
            Sender.Tell(new SubmitRejected(
                $"a submission cannot choose where its run is written (it asked for {submit.RunsRoot}); runs go to each worker node's own runs directory " +
                "(--runs-dir on the node, trainmanager.runs-directory). Submit without a runs root."));
            return;
        }
        // The client checked the experiment against its components; the worker checks it against the node's.
        ExperimentSchedule experiment;
        try
        {
            experiment = ExperimentSchedule.Read(submit.ExperimentHocon, $"experiment '{submit.Name}'");
        }
        catch (ExperimentException e)
        {
            Sender.Tell(new SubmitRejected(e.Message));
            return;
        }
        if (submit.Bundle is { } bundle && RefuseBundle(bundle) is { } refusal)
        {
            Sender.Tell(new SubmitRejected(refusal));
            return;
        }
        var runId = RunDirectory.NewId(experiment.Name);
        while (_experiments.ContainsKey(runId) || _ended.ContainsKey(runId))
            runId = RunDirectory.NewId(experiment.Name);
        var group = experiment.Workers == 1
            ? null
            : new WorkerGroupSpec(experiment.Workers, experiment.MinWorkers, experiment.ReplacementWait);
        var submitted = new ExperimentSubmitted(runId, DateTimeOffset.UtcNow, experiment.Name, experiment.Epochs, submit.ExperimentHocon,
            submit.InstantiationJson, submit.Provenance, submit.Device, null, submit.SubmittedFrom, submit.ResumeFrom, submit.SourceFile,
            group, ProvenBy(Sender), submit.Bundle, submit.Data);
        var waitingBefore = _queue.Values.Count(q => DeviceKinds.CanRun(q.Device, submit.Device));
        Experiment(runId).Tell(new Create(submitted, Sender, waitingBefore, _slots.Matching(submit.Device)));
    }

    /// <summary>Why a submission's bundle cannot be used, or null: it must be held here (offered first, as the CLI does)
    /// and named with the cluster's bundle key.</summary>
    string? RefuseBundle(BundleRef bundle)
    {
        if (_bundleSetup is null)
            return $"the experiment uses {bundle}, but this coordinator keeps no bundles of training projects.";
        if (_bundleSetup.Key is { } key && !key.Verifies(bundle))
            return $"{bundle} is not signed with this cluster's secret; submit with the secret file the cluster's nodes use (--secret-file, TRAINMANAGER_SECRET_FILE).";
        try
        {
            if (_bundleSetup.Store.Find(bundle.Hash) is null)
                return $"the coordinator does not hold {bundle}: offer it before submitting (`trainmanager submit` does), and submit again.";
        }
        catch (Exception e)
        {
            return $"the coordinator cannot read its bundles ({e.Message}); check the bundle store (trainmanager.bundles) and submit again.";
        }
        return null;
    }

    /// <summary>Tells the bundle store which bundles runs still use, once every experiment has recovered (before that the
    /// set is not known, and the store removes nothing).</summary>
    void PublishBundlesInUse()
    {
        if (_bundles is null || !_bundleInUseChanged || _recovering.Count > 0)
            return;
        _bundleInUseChanged = false;
        _bundles.Tell(new BundleStoreActor.InUse(_bundleInUse.Values.ToHashSet(StringComparer.Ordinal)));
    }

    /// <summary>The credential a request's connection proved: nothing reaches this actor from a connection that did not
    /// prove the cluster secret, so its sender's address is one that knew the secret.</summary>
    string ProvenBy(IActorRef sender)
    {
        var address = sender.Path.Address;
        var from = address.HasLocalScope || address == Akka.Cluster.Cluster.Get(Context.System).SelfAddress
            ? "the coordinator's own process"
            : $"{address.Host}:{address.Port}";
        return $"cluster secret {_keyId} from {from}";
    }

    IActorRef Experiment(string runId)
    {
        if (_experiments.TryGetValue(runId, out var existing))
            return existing;
        var experiment = ExperimentActor.Props(runId, _options.RegroupTimeout, _options.SnapshotEvery, _options.PassivateAfter);
        var child = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(experiment, "experiment", RestartBackoffMin, RestartBackoffMax, 0.2, -1)
            .WithFinalStopMessage(m => m is StopExperiment)), ChildPrefix + Uri.EscapeDataString(runId));
        Context.Watch(child);
        _experiments[runId] = child;
        return child;
    }

    const string ChildPrefix = "run-";

    /// <summary>The run an experiment child (named by <see cref="Experiment"/>) is for; null for any other actor.</summary>
    static string? RunOf(IActorRef actor) =>
        actor.Path.Name.StartsWith(ChildPrefix, StringComparison.Ordinal) ? Uri.UnescapeDataString(actor.Path.Name[ChildPrefix.Length..]) : null;

    RunList RunList() => new(
        _views.Values.Select(v => v.Summary).Concat(_ended.Where(e => !_views.ContainsKey(e.Key)).Select(e => e.Value))
            .OrderByDescending(s => s.SubmittedAt).ThenByDescending(s => s.RunId, StringComparer.Ordinal).ToList(),
        _slots.FreeCount, _slots.Count);

    void AnswerWaitingLists()
    {
        if (_waitingLists.Count == 0)
            return;
        var list = RunList();
        foreach (var client in _waitingLists)
            client.Tell(list);
        _waitingLists.Clear();
    }

    TimeSpan RestartBackoffMin => _options.RestartBackoffMin ?? SchedulerOptions.DefaultRestartBackoffMin;
    TimeSpan RestartBackoffMax => _options.RestartBackoffMax ?? SchedulerOptions.DefaultRestartBackoffMax;

    /// <summary>Hands a request to the run's experiment, starting it (recovery on demand) when it is not live, and
    /// holding it while the experiment stops after passivation.</summary>
    void Deliver(string runId, object message)
    {
        if (_passivating.TryGetValue(runId, out var waiting))
            waiting.Add((message, Sender));
        else
            Experiment(runId).Forward(message);
    }

    void Changed(ExperimentChanged changed)
    {
        var runId = changed.Summary.RunId;
        _views[runId] = changed;
        if (changed.Bundle is { } usedBundle && !changed.Summary.Status.IsFinal())
            _bundleInUseChanged |= !_bundleInUse.TryGetValue(runId, out var had) || had != usedBundle;
        else
            _bundleInUseChanged |= _bundleInUse.Remove(runId);
        if (changed.Bundle is { } inUse && !changed.Summary.Status.IsFinal())
            _bundleInUse[runId] = inUse;
        if (_recovering.Remove(runId) && _recovering.Count == 0)
        {
            Timers.Cancel("list-wait");
            AnswerWaitingLists();
        }
        if (changed.Summary.Status.IsFinal() && (!_ended.TryGetValue(runId, out var known) || known != changed.Summary))
        {
            _ended[runId] = changed.Summary;
            _index?.Tell(new RunIndex.Add(changed.Summary));
        }
        // Only a change of the queue can let a run start; freed slots say so themselves (SlotIdle).
        var queueChanged = _queue.ContainsKey(runId) != (changed.Summary.Status == RunStatus.Queued);
        if (changed.Summary.Status == RunStatus.Queued)
            Enqueue(new QueuedRun(runId, changed.QueuedSince, changed.Device, changed.Group.Workers, changed.Group.MinWorkers,
                changed.Group.ReplacementWait));
        else
            Dequeue(runId);
        var recovered = ClaimReconciliation.Recovered(changed.Recovered, changed.Summary.Status, _options.ConfirmationGrace, _startedAt, DateTimeOffset.UtcNow);
        if (recovered.AwaitsClaims)
        {
            // Its slots have until the grace ends to say they still run it (some may have already, below).
            _unconfirmed.Add(runId);
            Timers.StartSingleTimer("confirm-" + runId, new ConfirmationDeadline(runId), recovered.ClaimDeadlineIn);
        }
        if (_claims.Remove(runId, out var claimants))
            foreach (var claimant in claimants)
                Carry(ClaimReconciliation.JudgeDeferred(recovered), claimant, runId);
        PublishBundlesInUse();
        if (queueChanged)
            Place();
    }

    /// <summary>Places what can be placed now (the rules are <see cref="Placement"/>'s): the runs placed leave the queue
    /// and their experiments get the slots; a run that could start with its minimum once its wait ends is looked at
    /// again then.</summary>
    void Place()
    {
        if (_serveOrder.Count == 0)
            return;
        var now = DateTimeOffset.UtcNow;
        var decided = Placement.Place(_serveOrder, _slots.FreeSlots, _slots.SlotsOfKind, now);
        foreach (var wait in decided.Waits)
            if (!Timers.IsTimerActive(WaitTimer(wait.RunId)))
                Timers.StartSingleTimer(WaitTimer(wait.RunId), new PlaceAgain(), wait.Until - now);
        foreach (var assignment in decided.Assignments)
        {
            var slots = assignment.Slots.Select(s => _slots.FindById(s.Id)!).ToList();
            foreach (var slot in slots)
                slot.RunId = assignment.RunId;
            var group = _queue[assignment.RunId];
            Dequeue(assignment.RunId);
            if (group.Workers > 1)
                _log.Info("Run {0}: {1} of {2} workers placed", assignment.RunId, slots.Count, group.Workers);
            _experiments[assignment.RunId].Tell(new AssignSlots(slots.Select(s => new SlotOffer(s.Actor, s.Address)).ToList()));
        }
    }

    void Enqueue(QueuedRun run)
    {
        if (_queue.Remove(run.RunId, out var was))
            _serveOrder.Remove(was);
        _queue[run.RunId] = run;
        _serveOrder.Add(run);
    }

    void Dequeue(string runId)
    {
        if (_queue.Remove(runId, out var was))
            _serveOrder.Remove(was);
        Timers.Cancel(WaitTimer(runId));
    }

    static string WaitTimer(string runId) => "wait-" + runId;

    void ForwardReport(IWorkerReport report)
    {
        if (_slots.Find(Sender) is null && !Sender.IsNobody())
            // A slot this coordinator has not heard register (it started after the node did, and the node's answer was
            // lost): ask its node, so the slot is known before it falls idle.
            Context.ActorSelection(Sender.Path.Root / "user" / SlotsActorName).Tell(ReportSlots.Instance);
        if (_slots.Find(Sender) is { } slot && slot.RunId != report.RunId)
        {
            // A slot reporting on a run it was not given: a copy left over from before a restart or a requeue.
            _log.Warning("{0} reported {1} on run {2}, which it does not run now; telling it to stop", slot.Address, report.GetType().Name, report.RunId);
            if (report is not (TrainingStoppedReport or TrainingFailedReport or TrainingFinishedReport))
                Sender.Tell(new StopTraining(report.RunId, "the coordinator has placed this run elsewhere or ended it"));
            // A numbered report is sent until acknowledged: the experiment, which knows what it has handled, answers it.
            if (report is ISequencedReport { Seq: > 0 } && (_experiments.ContainsKey(report.RunId) || _ended.ContainsKey(report.RunId)))
                Deliver(report.RunId, report);
            return;
        }
        if (report is TrainingRefusedReport)
            Context.ActorSelection(Sender.Path.Root / "user" / SlotsActorName).Tell(ReportSlots.Instance); // resynchronise that node
        if (_experiments.ContainsKey(report.RunId) || _ended.ContainsKey(report.RunId))
            Deliver(report.RunId, report); // an ended run's worker still wants its report acknowledged
        else
            _log.Warning("Report {0} for unknown run {1} from {2}", report.GetType().Name, report.RunId, Sender);
    }

    void ForwardToRun(string requested, Func<string, object> message, bool quiet = false)
    {
        var matches = _experiments.ContainsKey(requested) || _ended.ContainsKey(requested)
            ? new List<string> { requested }
            : _experiments.Keys.Concat(_ended.Keys).Where(id => id.StartsWith(requested, StringComparison.Ordinal)).Distinct().ToList();
        if (matches.Count == 1)
        {
            // Unfollowing a run that is not live asks nothing of it: no need to recover it.
            if (!quiet || _experiments.ContainsKey(matches[0]))
                Deliver(matches[0], message(matches[0]));
        }
        else if (!quiet)
            Sender.Tell(new RunNotFound(requested, matches.Count == 0
                ? $"no run '{requested}' on this cluster. List the runs with: trainmanager runs"
                : $"'{requested}' matches {matches.Count} runs ({string.Join(", ", matches.Order(StringComparer.Ordinal).Take(5))}); give more of the id."));
    }
}
