using Akka.Actor;
using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>The protocol of <see cref="StageRunnerActor"/>.</summary>
public static class StageRunnerProtocol
{
    /// <summary>Run a routine of the runner's extensible; the sender gets <see cref="RoutineCompleted"/> or a failure.</summary>
    public sealed record Run(string Name, Func<object?> Routine);

    public sealed record RoutineCompleted(string Name, object? Result);

    public sealed record GetStatus
    {
        public static GetStatus Instance { get; } = new();
    }

    public sealed record StageFrame(string Stage, long Instance);

    /// <summary>Where the routine is: the active stage path with instance numbers, and every stage's instance count.</summary>
    public sealed record Status(string State, string? Routine, IReadOnlyList<StageFrame> Path, IReadOnlyDictionary<string, long> Counters)
    {
        public string StagePath => string.Join('/', Path.Select(f => f.Stage));
    }

    /// <summary>Sent by the routine's thread: the routine entered a stage.</summary>
    public sealed record StageEntered(string Stage, int Depth, long Instance);

    /// <summary>Sent by the routine's thread: the routine left a stage.</summary>
    public sealed record StageExited(string Stage, int Depth, bool Failed);

    internal sealed record Finished(string Name, object? Result, Exception? Error);
}

/// <summary>
/// Runs an extensible's routines. The routine executes on a thread the actor starts, and every stage
/// it enters or leaves is a state transition of this actor (a stacked behaviour per stage), so the
/// actor answers <see cref="StageRunnerProtocol.GetStatus"/> with the live stage path while the
/// routine runs, without stopping it. States: Idle, Running, and one InStage per active stage.
/// </summary>
public sealed class StageRunnerActor : ReceiveActor
{
    private readonly Extensible _extensible;
    private readonly List<StageRunnerProtocol.StageFrame> _path = new();
    private readonly Dictionary<string, long> _counters = new();
    private IActorRef _requester = ActorRefs.Nobody;
    private string? _routine;

    public StageRunnerActor(Extensible extensible)
    {
        _extensible = extensible;
        Idle();
    }

    public static Props Props(Extensible extensible) => Akka.Actor.Props.Create(() => new StageRunnerActor(extensible));

    private void Idle()
    {
        Receive<StageRunnerProtocol.Run>(Start);
        Receive<StageRunnerProtocol.GetStatus>(_ => Sender.Tell(Status("Idle")));
    }

    private void Running()
    {
        Receive<StageRunnerProtocol.StageEntered>(Entered);
        Receive<StageRunnerProtocol.GetStatus>(_ => Sender.Tell(Status("Running")));
        Receive<StageRunnerProtocol.Finished>(Finish);
        Receive<StageRunnerProtocol.Run>(run => Sender.Tell(new Status.Failure(new InvalidOperationException(
            $"Cannot start '{run.Name}': '{_routine}' is still running on this extensible."))));
    }

    private void InStage(StageRunnerProtocol.StageFrame frame)
    {
        Receive<StageRunnerProtocol.StageEntered>(Entered);
        Receive<StageRunnerProtocol.StageExited>(exited =>
        {
            _path.RemoveAt(_path.Count - 1);
            UnbecomeStacked();
        });
        Receive<StageRunnerProtocol.GetStatus>(_ => Sender.Tell(Status($"InStage({frame.Stage})")));
        Receive<StageRunnerProtocol.Finished>(Finish);
        Receive<StageRunnerProtocol.Run>(run => Sender.Tell(new Status.Failure(new InvalidOperationException(
            $"Cannot start '{run.Name}': '{_routine}' is still running on this extensible."))));
    }

    private void Entered(StageRunnerProtocol.StageEntered entered)
    {
        var frame = new StageRunnerProtocol.StageFrame(entered.Stage, entered.Instance);
        _path.Add(frame);
        _counters[entered.Stage] = entered.Instance;
        BecomeStacked(() => InStage(frame));
    }

    private void Start(StageRunnerProtocol.Run run)
    {
        _requester = Sender;
        _routine = run.Name;
        _path.Clear();
        _counters.Clear();
        var self = Self;
        _extensible.Listen(new ActorStageListener(self));
        Become(Running);
        // A dedicated thread: the routine is long and CPU-bound, and must not occupy a dispatcher thread.
        var thread = new Thread(() =>
        {
            try { self.Tell(new StageRunnerProtocol.Finished(run.Name, run.Routine(), null)); }
            catch (Exception e) { self.Tell(new StageRunnerProtocol.Finished(run.Name, null, e)); }
        }) { IsBackground = true, Name = $"routine:{run.Name}" };
        thread.Start();
    }

    private void Finish(StageRunnerProtocol.Finished finished)
    {
        _extensible.Listen(null);
        _path.Clear();
        _requester.Tell(finished.Error is null
            ? new StageRunnerProtocol.RoutineCompleted(finished.Name, finished.Result)
            : new Status.Failure(finished.Error));
        _requester = ActorRefs.Nobody;
        _routine = null;
        Become(Idle);
    }

    private StageRunnerProtocol.Status Status(string state) =>
        new(state, _routine, _path.ToArray(), new Dictionary<string, long>(_counters));

    private sealed class ActorStageListener(IActorRef actor) : IStageListener
    {
        public void Entered(string stage, int depth, long instance) => actor.Tell(new StageRunnerProtocol.StageEntered(stage, depth, instance));
        public void Exited(string stage, int depth, bool failed) => actor.Tell(new StageRunnerProtocol.StageExited(stage, depth, failed));
    }
}

/// <summary>A typed front for <see cref="StageRunnerActor"/>.</summary>
public sealed class StageRunner<TExtensible>(ActorSystem system, TExtensible extensible) where TExtensible : Extensible
{
    public IActorRef Actor { get; } = system.ActorOf(StageRunnerActor.Props(extensible));

    public TExtensible Extensible { get; } = extensible;

    public async Task<TResult> RunAsync<TResult>(string name, Func<TExtensible, TResult> routine, TimeSpan? timeout = null)
    {
        var completed = await Actor.Ask<StageRunnerProtocol.RoutineCompleted>(
            new StageRunnerProtocol.Run(name, () => routine(Extensible)), timeout ?? Timeout.InfiniteTimeSpan);
        return (TResult)completed.Result!;
    }

    public Task RunAsync(string name, Action<TExtensible> routine, TimeSpan? timeout = null) =>
        RunAsync<object?>(name, e => { routine(e); return null; }, timeout);

    public Task<StageRunnerProtocol.Status> StatusAsync(TimeSpan? timeout = null) =>
        Actor.Ask<StageRunnerProtocol.Status>(StageRunnerProtocol.GetStatus.Instance, timeout ?? TimeSpan.FromSeconds(5));
}
