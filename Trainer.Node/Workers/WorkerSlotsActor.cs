using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using TrainManager.Protocol;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Node.Workers;

/// <summary>
/// A node's worker slots (one <see cref="WorkerActor"/> per device), at <c>/user/worker-slots</c>. It tells the
/// coordinator which slots exist and what they run (on start and whenever asked), and hands all work back when the
/// node leaves. States: <see cref="Offering"/> and <see cref="HandingBack"/>.
/// </summary>
public sealed class WorkerSlotsActor : ReceiveActor, IWithTimers
{
    /// <summary>Hand back every run and take no more (the node is leaving); answered with <see cref="AllHandedBack"/>.</summary>
    public sealed record HandBackAll(TimeSpan Timeout);

    public sealed record AllHandedBack(IReadOnlyList<WorkerActor.HandedBack> Slots);

    sealed record Registration(RegisterSlots Message);

    static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(5);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly IActorRef _proxy;
    readonly List<IActorRef> _slots = [];
    /// <summary>Where reports go: the registry itself once it has asked us, else the singleton proxy.</summary>
    IActorRef _coordinator;

    /// <param name="listeners">One per device: where that slot accepts the gradient connections of data-parallel runs
    /// (advertised as <c>dataHost:port</c>); null or empty, the slots take single-worker runs only.</param>
    public WorkerSlotsActor(IReadOnlyList<string> devices, IActorRef coordinator, WorkerSettings settings,
        IReadOnlyList<RingListener>? listeners = null, string? dataHost = null)
    {
        _proxy = coordinator;
        _coordinator = coordinator;
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        for (var i = 0; i < devices.Count; i++)
        {
            var listener = listeners is { Count: > 0 } ? listeners[i] : null;
            var endpoint = listener is null ? null : DataEndpoints.Format(dataHost ?? listener.EndPoint.Address.ToString(), listener.EndPoint.Port);
            if (endpoint is not null)
                settings.InProcess.AddLocalEndpoint(endpoint); // so that its runs can tell when all their ranks are here
            _slots.Add(Context.ActorOf(WorkerActor.Props(new SlotAddress(node, i, devices[i], endpoint), coordinator, settings, listener), $"slot-{i}"));
        }
        _log.Info("Offering {0} worker slot(s): {1}", devices.Count, string.Join(", ", devices));
        Offering();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IReadOnlyList<string> devices, IActorRef coordinator, WorkerSettings settings,
        IReadOnlyList<RingListener>? listeners = null, string? dataHost = null) =>
        Akka.Actor.Props.Create(() => new WorkerSlotsActor(devices, coordinator, settings, listeners, dataHost));

    protected override void PreStart() => Self.Tell(ReportSlots.Instance);

    void Offering()
    {
        Receive<ReportSlots>(_ =>
        {
            // Asked by the registry itself: answer it directly, and have the slots report to it directly too. After a
            // coordinator crash the proxies may keep looking for the old incarnation for a while; the registry that
            // asked is the one that is alive.
            if (!Sender.IsNobody() && !Sender.Equals(Self) && !Sender.Equals(_coordinator))
            {
                if (!_coordinator.Equals(_proxy))
                    Context.Unwatch(_coordinator);
                _coordinator = Sender;
                Context.Watch(_coordinator);
                foreach (var slot in _slots)
                    slot.Tell(new WorkerActor.ReportTo(_coordinator));
            }
            Report();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_coordinator), _ =>
        {
            _coordinator = _proxy; // the registry moved or died: the proxy finds its successor
            foreach (var slot in _slots)
                slot.Tell(new WorkerActor.ReportTo(_proxy));
        });
        Receive<Registration>(registration => _coordinator.Tell(registration.Message, Self));
        Receive<Status.Failure>(failure =>
        {
            // A slot too busy to answer in time (a loaded machine): try again, or the coordinator never learns of this node.
            _log.Warning("Could not read the slots' state to register them ({0}); trying again in 2 s", failure.Cause.Message);
            Timers.StartSingleTimer("register-again", ReportSlots.Instance, TimeSpan.FromSeconds(2));
        });
        Receive<HandBackAll>(handBack =>
        {
            var requester = Sender;
            Task.WhenAll(_slots.Select(slot => slot.Ask<WorkerActor.HandedBack>(WorkerActor.HandBack.Instance, handBack.Timeout)))
                .PipeTo(requester, success: handed => new AllHandedBack(handed));
            Become(HandingBack);
        });
    }

    void HandingBack()
    {
        // Registering now would offer slots that are about to disappear.
        Receive<ReportSlots>(_ => { });
        Receive<Registration>(_ => { });
        Receive<HandBackAll>(_ => Sender.Tell(new AllHandedBack([])));
        // Handing back happens when the node shuts down, and so does the registry it watches: expected, not an error.
        Receive<Terminated>(_ => { });
    }

    void Report()
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Task.WhenAll(_slots.Select(slot => slot.Ask<SlotRegistration>(WorkerActor.GetSlotState.Instance, StateTimeout)))
            .PipeTo(Self, success: states => new Registration(new RegisterSlots(node, states)));
    }
}
