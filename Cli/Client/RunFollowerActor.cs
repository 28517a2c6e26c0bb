using Akka.Actor;
using TrainManager.Protocol;

namespace TrainManager.Cli.Client;

/// <summary>
/// Follows one run for a client: asks the coordinator for it, passes what comes to an <see cref="IRunObserver"/>, and
/// completes when the run ends. If the experiment actor goes away (its coordinator node left or crashed), it asks
/// again every few seconds through the singleton proxy, which finds the coordinator wherever it restarts, and passes
/// on only the events it had not seen. States: <see cref="Subscribing"/>, <see cref="Following"/>.
/// </summary>
public sealed class RunFollowerActor : ReceiveActor, IWithTimers
{
    static readonly TimeSpan Retry = TimeSpan.FromSeconds(3);

    readonly IActorRef _coordinator;
    readonly string _runId;
    readonly IRunObserver _observer;
    readonly TaskCompletionSource<RunEnded> _ended;
    int _eventsSeen;

    sealed record Subscribe;

    public RunFollowerActor(IActorRef coordinator, string runId, IRunObserver observer, TaskCompletionSource<RunEnded> ended)
    {
        _coordinator = coordinator;
        _runId = runId;
        _observer = observer;
        _ended = ended;
        Subscribing();
    }

    public static Props Props(IActorRef coordinator, string runId, IRunObserver observer, TaskCompletionSource<RunEnded> ended) =>
        Akka.Actor.Props.Create(() => new RunFollowerActor(coordinator, runId, observer, ended));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Self.Tell(new Subscribe());

    protected override void PostStop() => _ended.TrySetCanceled();

    void Subscribing()
    {
        Receive<Subscribe>(_ =>
        {
            _coordinator.Tell(new FollowRun(_runId));
            Timers.StartSingleTimer("retry", new Subscribe(), Retry);
        });
        Receive<RunDetails>(details =>
        {
            Timers.Cancel("retry");
            Context.Watch(Sender);
            var fresh = details.History.Skip(_eventsSeen).ToList();
            _observer.OnDetails(details with { History = fresh });
            _eventsSeen = details.History.Count;
            Become(Following);
        });
        Receive<RunNotFound>(notFound =>
        {
            _ended.TrySetException(new RunNotFoundException(notFound.Reason));
            Context.Stop(Self);
        });
        ReceiveEnd();
    }

    void Following()
    {
        Receive<RunEventNotice>(notice =>
        {
            _eventsSeen++;
            _observer.OnEvent(notice.Event);
        });
        Receive<RunProgress>(_observer.OnProgress);
        Receive<Terminated>(_ =>
        {
            Become(Subscribing);
            Timers.StartSingleTimer("retry", new Subscribe(), Retry);
        });
        ReceiveEnd();
    }

    void ReceiveEnd() => Receive<RunEnded>(ended =>
    {
        _ended.TrySetResult(ended);
        Context.Stop(Self);
    });
}
