using System.Diagnostics;
using Akka.Actor;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Scheduling.Simulation;

/// <summary>
/// What the simulated slots did, for the simulation to measure and check: every start a slot was told, every slot that
/// fell idle, and every start that reached a busy slot (which placement must never cause). Written from the slots'
/// actors, read by the simulation; timestamps are <see cref="Stopwatch.GetTimestamp"/>.
/// </summary>
internal sealed class SimulationLog
{
    public sealed record Start(string RunId, int Attempt, int Rank, int WorldSize, IActorRef Slot, string Node, long At, long SlotFreeSince);

    readonly object _gate = new();
    readonly List<Start> _starts = [];
    readonly List<string> _doubleBookings = [];
    int _finished;

    public void Started(Start start)
    {
        lock (_gate)
            _starts.Add(start);
    }

    public void DoubleBooked(string what)
    {
        lock (_gate)
            _doubleBookings.Add(what);
    }

    public void RunFinished() => Interlocked.Increment(ref _finished);

    public int Finished => Volatile.Read(ref _finished);

    public IReadOnlyList<Start> Starts()
    {
        lock (_gate)
            return _starts.ToList();
    }

    public int StartCount
    {
        get
        {
            lock (_gate)
                return _starts.Count;
        }
    }

    public IReadOnlyList<string> DoubleBookings()
    {
        lock (_gate)
            return _doubleBookings.ToList();
    }
}

/// <summary>
/// A worker slot that trains nothing: it answers the coordinator the way a real slot does (started, then finished,
/// stopped or ring lost; rank 0's reports numbered per attempt and the slot idle only once the last one is
/// acknowledged; a start while busy refused), and finishes its run when told (<see cref="Finish"/>) or after a set time.
/// Reports are not sent again: in one process nothing is lost on the way.
/// </summary>
internal sealed class SimulatedSlot : ReceiveActor, IWithTimers
{
    /// <summary>The run ends now, as if its last epoch were done.</summary>
    public sealed record Finish(string RunId);

    /// <summary>Answered with the slot's <see cref="SlotRegistration"/>.</summary>
    public sealed record GetState
    {
        public static GetState Instance { get; } = new();
    }

    static readonly TrainingOutcome Outcome = new(1, 0.1, 0.1, 0.9, TimeSpan.Zero, null, null);

    readonly SlotAddress _address;
    readonly IActorRef _coordinator;
    readonly SimulationLog _log;
    readonly TimeSpan? _runFor;
    string? _runId;
    int _attempt;
    int _rank;
    long _seq;
    long _freeSince = Stopwatch.GetTimestamp();

    public SimulatedSlot(SlotAddress address, IActorRef coordinator, SimulationLog log, TimeSpan? runFor)
    {
        _address = address;
        _coordinator = coordinator;
        _log = log;
        _runFor = runFor;
        Idle();
    }

    public static Props Props(SlotAddress address, IActorRef coordinator, SimulationLog log, TimeSpan? runFor) =>
        Akka.Actor.Props.Create(() => new SimulatedSlot(address, coordinator, log, runFor));

    public ITimerScheduler Timers { get; set; } = null!;

    void Idle()
    {
        Receive<StartTraining>(start =>
        {
            _runId = start.RunId;
            _attempt = start.Attempt;
            _rank = start.Collective?.Rank ?? 0;
            _seq = 0;
            _log.Started(new SimulationLog.Start(start.RunId, start.Attempt, _rank, start.Collective?.WorldSize ?? 1, Self, _address.Node,
                Stopwatch.GetTimestamp(), _freeSince));
            Report(new TrainingStartedReport(start.RunId, _address, "sim/" + start.RunId, null, []));
            if (_runFor is { } runFor)
                Timers.StartSingleTimer("finish", new Finish(start.RunId), runFor);
            Become(Running);
        });
        Receive<StopTraining>(_ => { });
        Receive<Finish>(_ => { });
        Receive<ReportsPersisted>(_ => { });
        ReceiveState();
    }

    void Running()
    {
        Receive<StartTraining>(start =>
        {
            _log.DoubleBooked($"{_address} was told to start {start.RunId} while it ran {_runId}");
            _coordinator.Tell(new TrainingRefusedReport(start.RunId, _address, $"it is running {_runId}"), Self);
        });
        Receive<Finish>(finish => finish.RunId == _runId, _ => End(new TrainingFinishedReport(_runId!, Outcome)));
        Receive<StopTraining>(stop => stop.RunId == _runId && stop.Abandon,
            stop => End(new RingLostReport(_runId!, _rank, $"simulated: {stop.Reason}")));
        Receive<StopTraining>(stop => stop.RunId == _runId,
            stop => End(new TrainingStoppedReport(_runId!, stop.Reason, false, Outcome)));
        Receive<StopTraining>(_ => { });
        Receive<Finish>(_ => { });
        Receive<ReportsPersisted>(_ => { });
        ReceiveState();
    }

    /// <summary>Rank 0 waits until the coordinator has persisted how the run ended, as a real slot does.</summary>
    void Reporting()
    {
        Receive<ReportsPersisted>(persisted => persisted.RunId == _runId && persisted.Attempt == _attempt && persisted.Seq >= _seq,
            _ => BecomeIdle());
        Receive<ReportsPersisted>(_ => { });
        Receive<StartTraining>(start =>
        {
            _log.DoubleBooked($"{_address} was told to start {start.RunId} while it reported how {_runId} ended");
            _coordinator.Tell(new TrainingRefusedReport(start.RunId, _address, $"it is still reporting how {_runId} ended"), Self);
        });
        Receive<StopTraining>(_ => { });
        Receive<Finish>(_ => { });
        ReceiveState();
    }

    void ReceiveState() => Receive<GetState>(_ => Sender.Tell(new SlotRegistration(Self, _address, _runId)));

    void End(IWorkerReport final)
    {
        if (final is TrainingFinishedReport && _rank == 0)
            _log.RunFinished();
        Report(final);
        if (_rank == 0)
            Become(Reporting);
        else
            BecomeIdle();
    }

    void BecomeIdle()
    {
        _runId = null;
        _freeSince = Stopwatch.GetTimestamp();
        _coordinator.Tell(new SlotIdle(Self, _address), Self);
        Become(Idle);
    }

    void Report(IWorkerReport report)
    {
        if (_rank == 0 && report is ISequencedReport sequenced)
            report = sequenced.WithSequence(_attempt, ++_seq);
        _coordinator.Tell(report, Self);
    }
}

/// <summary>A node of simulated slots: registers them with the coordinator when it starts and whenever asked.</summary>
internal sealed class SimulatedNode : ReceiveActor
{
    sealed record Registration(RegisterSlots Message);

    public SimulatedNode(string node, int slots, IActorRef coordinator, SimulationLog log, TimeSpan? runFor)
    {
        var children = Enumerable.Range(0, slots)
            .Select(i => Context.ActorOf(SimulatedSlot.Props(new SlotAddress(node, i, "cpu", $"{node}:{5000 + i}"), coordinator, log, runFor), $"slot-{i}"))
            .ToList();
        Receive<ReportSlots>(_ =>
            Task.WhenAll(children.Select(c => c.Ask<SlotRegistration>(SimulatedSlot.GetState.Instance, TimeSpan.FromSeconds(30))))
                .PipeTo(Self, success: states => new Registration(new RegisterSlots(node, states))));
        Receive<Registration>(registration => coordinator.Tell(registration.Message, Self));
        Self.Tell(ReportSlots.Instance);
    }

    public static Props Props(string node, int slots, IActorRef coordinator, SimulationLog log, TimeSpan? runFor) =>
        Akka.Actor.Props.Create(() => new SimulatedNode(node, slots, coordinator, log, runFor));
}

/// <summary>The simulated nodes, at the path where the coordinator looks for a node's slots
/// (<see cref="ExperimentRegistry.SlotsActorName"/>): asked to report, every node registers its slots again.</summary>
internal sealed class SimulatedWorkerSlots : ReceiveActor
{
    /// <summary>Start a node of <paramref name="Slots"/> slots; answered with its actor once created.</summary>
    public sealed record AddNode(string Node, int Slots);

    /// <summary>The node's member is gone: its slots stop, and death watch tells whoever watched them.</summary>
    public sealed record RemoveNode(string Node);

    public SimulatedWorkerSlots(IActorRef coordinator, SimulationLog log, TimeSpan? runFor)
    {
        var nodes = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        Receive<AddNode>(add =>
        {
            nodes[add.Node] = Context.ActorOf(SimulatedNode.Props(add.Node, add.Slots, coordinator, log, runFor), add.Node);
            Sender.Tell(nodes[add.Node]);
        });
        Receive<RemoveNode>(remove =>
        {
            if (nodes.Remove(remove.Node, out var node))
                Context.Stop(node);
            Sender.Tell(remove);
        });
        Receive<ReportSlots>(report =>
        {
            foreach (var node in nodes.Values)
                node.Tell(report);
        });
    }

    public static Props Props(IActorRef coordinator, SimulationLog log, TimeSpan? runFor) =>
        Akka.Actor.Props.Create(() => new SimulatedWorkerSlots(coordinator, log, runFor));
}
