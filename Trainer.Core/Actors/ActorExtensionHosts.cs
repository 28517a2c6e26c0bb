using Akka.Actor;
using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>Hosts each blocking or observing extension of a routine on an actor of <paramref name="system"/> (the
/// process's <see cref="LocalActorSystem"/> when null).</summary>
public sealed class ActorExtensionHosts(ActorSystem? system = null) : IExtensionHosts
{
    private static int _counter;

    /// <summary>Makes actors in the process's local actor system the hosts of every extensible that names none: set
    /// when this library is loaded, so the engine (which knows no actors) runs hosted extensions on actors.</summary>
#pragma warning disable CA2255 // ModuleInitializer in a library: it only names this library's hosts as the default.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseByDefault() => ExtensibleHosts.Default ??= new ActorExtensionHosts();

    public IHostedExtension Start(Extension extension)
    {
        var system1 = system ?? LocalActorSystem.Default;
        var backlog = extension.Hosting == ExtensionHosting.Observing ? new ObserverBacklog(extension.Backlog) : null;
        var name = $"extension-{Interlocked.Increment(ref _counter)}-{Uri.EscapeDataString(extension.Name)}";
        var actor = system1.ActorOf(ExtensionActor.Props(extension, backlog), name);
        return new ActorHostedExtension(actor, extension, backlog);
    }

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private sealed class ActorHostedExtension(IActorRef actor, Extension extension, ObserverBacklog? backlog) : IHostedExtension
    {
        public void Post(BoundHook hook, object?[] arguments)
        {
            if (!backlog!.TryEnter()) return;
            ObserverHandoff.Prepare(arguments, hook.Parameters);
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

/// <summary>Hosting an extensible's blocking and observing extensions on actors.</summary>
public static class ExtensibleActors
{
    /// <summary>Hosts <paramref name="extensible"/>'s blocking and observing extensions on actors of
    /// <paramref name="system"/> (the process's local actor system when null).</summary>
    public static TExtensible UseActors<TExtensible>(this TExtensible extensible, ActorSystem? system) where TExtensible : Extensible
    {
        extensible.Hosts = new ActorExtensionHosts(system);
        return extensible;
    }
}
