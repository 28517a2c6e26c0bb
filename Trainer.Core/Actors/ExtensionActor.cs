using Akka.Actor;
using Akka.Event;
using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>The messages an extension actor understands. Data only.</summary>
public static class ExtensionProtocol
{
    /// <summary>A hook call with its fixture values, resolved on the routine thread.</summary>
    public sealed record HookCall(BoundHook Hook, object?[] Arguments, bool ReplyExpected);

    public sealed record HookReply(IReadOnlyList<FixtureChange> Changes, Exception? Error);

    public sealed record Flush
    {
        public static Flush Instance { get; } = new();
    }

    public sealed record Flushed(long Handled, long Failed, Exception? FirstError)
    {
        public static Flushed Empty { get; } = new(0, 0, null);
    }

    public sealed record RoutineFailed(StageFailure Failure);
}

/// <summary>
/// Hosts one extension. Calls arrive in the order the routine made them (one sender, one mailbox);
/// values handed to an observer are its own and are released after the hook returns.
/// </summary>
public sealed class ExtensionActor : ReceiveActor
{
    private readonly Extension _extension;
    private readonly ObserverBacklog? _backlog;
    private long _handled;
    private long _failed;
    private Exception? _firstError;

    public ExtensionActor(Extension extension, ObserverBacklog? backlog)
    {
        _extension = extension;
        _backlog = backlog;
        Receive<ExtensionProtocol.HookCall>(Handle);
        Receive<ExtensionProtocol.Flush>(_ =>
        {
            try { _extension.OnRoutineEnd(); }
            catch (Exception e) { Context.GetLogger().Error(e, "{0}.OnRoutineEnd failed", _extension.Name); }
            Sender.Tell(new ExtensionProtocol.Flushed(_handled, _failed, _firstError));
            _firstError = null;
        });
        Receive<ExtensionProtocol.RoutineFailed>(m =>
        {
            try { _extension.OnFailure(m.Failure); }
            catch (Exception e) { Context.GetLogger().Error(e, "{0}.OnFailure failed", _extension.Name); }
        });
    }

    public static Props Props(Extension extension, ObserverBacklog? backlog) =>
        Akka.Actor.Props.Create(() => new ExtensionActor(extension, backlog));

    private void Handle(ExtensionProtocol.HookCall call)
    {
        FixtureWriter? writer = null;
        var args = call.Arguments;
        for (var i = 0; i < args.Length; i++)
            if (call.Hook.Parameters[i].Kind == HookParameterKind.Writer)
                args[i] = writer ??= new FixtureWriter(call.Hook.DisplayName);
        Exception? error = null;
        try
        {
            call.Hook.InvokeWithArguments(_extension, args);
            _handled++;
        }
        catch (Exception e)
        {
            error = e;
            _failed++;
            _firstError ??= e;
            if (!call.ReplyExpected)
                Context.GetLogger().Error(e, "Observer hook {0} failed; training goes on", call.Hook.DisplayName);
        }
        finally
        {
            if (!call.ReplyExpected)
            {
                ObserverHandoff.Release(args);
                _backlog?.Done();
            }
        }
        if (call.ReplyExpected)
            Sender.Tell(new ExtensionProtocol.HookReply(writer?.Recorded ?? [], error));
    }
}
