namespace TrainManager.Stages;

/// <summary>What a hook may ask of the routine besides fixtures: skip the rest of a stage instance, or stop.</summary>
public sealed class StageControl
{
    private readonly Extensible _owner;
    internal StageControl(Extensible owner) => _owner = owner;

    /// <summary>Skips the rest of the innermost active stage instance, or of the enclosing stage named <paramref name="stage"/>.
    /// Stages entered inside it are skipped; its post hooks do not run; its fixtures are released as usual.</summary>
    public void SkipStage(string? stage = null) => _owner.Engine.Skip(stage);

    /// <summary>Asks the routine to stop: stages not yet entered are skipped; active ones end normally.</summary>
    public void StopRoutine(string reason = "stopped by a hook") => _owner.Engine.RequestStop(reason);

    public bool StopRequested => _owner.Engine.StopRequested;
}
