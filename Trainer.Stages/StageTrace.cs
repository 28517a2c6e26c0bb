namespace TrainManager.Stages;

public enum TraceKind { Enter, Exit, Hook, Skip }

/// <summary>One line of the hook trace: which hook ran, for which stage instance, in which order.</summary>
public sealed record TraceEvent(TraceKind Kind, string StagePath, long Instance, HookPhase? Phase, string? Hook)
{
    public override string ToString() => Kind switch
    {
        TraceKind.Hook => $"{StagePath}#{Instance} {(Phase == HookPhase.Pre ? "pre " : "post")} {Hook}",
        TraceKind.Skip => $"{StagePath}#{Instance} skipped",
        _ => $"{StagePath}#{Instance} {(Kind == TraceKind.Enter ? "enter" : "exit")}",
    };
}

/// <summary>Receives the stage lifecycle of a routine: the actor that mirrors the stages listens here.</summary>
public interface IStageListener
{
    void Entered(string stage, int depth, long instance);
    void Exited(string stage, int depth, bool failed);
}
