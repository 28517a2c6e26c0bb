using Akka.Actor;
using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>Creates the actor that hosts a blocking or observing extension for one routine.</summary>
internal static class ExtensionHosts
{
    private static int _counter;

    public static IHostedExtension Create(ActorSystem? system, Extension extension)
    {
        system ??= LocalActorSystem.Default;
        var backlog = extension.Hosting == ExtensionHosting.Observing ? new ObserverBacklog(extension.Backlog) : null;
        var name = $"extension-{Interlocked.Increment(ref _counter)}-{Uri.EscapeDataString(extension.Name)}";
        var actor = system.ActorOf(ExtensionActor.Props(extension, backlog), name);
        return new ActorHostedExtension(actor, extension, backlog);
    }

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private sealed class ActorHostedExtension(IActorRef actor, Extension extension, ObserverBacklog? backlog) : IHostedExtension
    {
        public void Post(BoundHook hook, object?[] arguments)
        {
            if (!backlog!.TryEnter())
            {
                ObserverHandoff.Release(arguments);
                return;
            }
            actor.Tell(new ExtensionProtocol.HookCall(hook, arguments, ReplyExpected: false));
        }

        public IReadOnlyList<FixtureChange> Call(BoundHook hook, object?[] arguments)
        {
            var reply = actor.Ask<ExtensionProtocol.HookReply>(
                new ExtensionProtocol.HookCall(hook, arguments, ReplyExpected: true), extension.BlockingTimeout)
                .GetAwaiter().GetResult();
            if (reply.Error is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(reply.Error).Throw();
            return reply.Changes;
        }

        public void Flush()
        {
            // Every call handed over before this message is handled before it: the reply means "caught up".
            var flushed = actor.Ask<ExtensionProtocol.Flushed>(ExtensionProtocol.Flush.Instance, TimeSpan.FromMinutes(10))
                .GetAwaiter().GetResult();
            if (backlog is { Dropped: > 0 })
                Console.Error.WriteLine($"{extension.Name}: {backlog.Dropped} observer calls were dropped (backlog full, policy {backlog.Policy.WhenFull}).");
            if (flushed.FirstError is not null)
                Console.Error.WriteLine($"{extension.Name}: {flushed.Failed} observer hook calls failed; first: {flushed.FirstError.Message}");
        }

        public void NotifyFailure(StageFailure failure) => actor.Tell(new ExtensionProtocol.RoutineFailed(failure));

        public void Stop()
        {
            try { actor.GracefulStop(StopTimeout).GetAwaiter().GetResult(); }
            catch (Exception e) when (e is TaskCanceledException or TimeoutException)
            {
                // A hook still running past the flush (a timed-out blocking call) keeps its actor busy: it is stopped
                // when the hook returns.
                Console.Error.WriteLine($"{extension.Name}: its actor did not stop within {StopTimeout.TotalSeconds:0} s of the routine's end.");
            }
        }
    }
}
