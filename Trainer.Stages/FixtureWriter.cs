namespace TrainManager.Stages;

/// <summary>A fixture added or replaced by a hook that runs off the routine thread, applied when it returns.</summary>
public sealed record FixtureChange(string Name, object? Value, bool IsReplace);

/// <summary>
/// What a hook takes to add fixtures to the current stage or replace fixtures it may replace
/// (ones it defined itself, or ones the extensible declares replaceable).
/// </summary>
public sealed class FixtureWriter
{
    private readonly StageEngine? _engine;
    private readonly Extension? _extension;
    private readonly string _hook;
    private readonly List<FixtureChange>? _recorded;

    internal FixtureWriter(StageEngine engine, Extension extension, string hook)
    {
        _engine = engine;
        _extension = extension;
        _hook = hook;
    }

    /// <summary>A writer that records changes, for hooks that run on an actor.</summary>
    internal FixtureWriter(string hook)
    {
        _hook = hook;
        _recorded = new List<FixtureChange>();
    }

    internal IReadOnlyList<FixtureChange> Recorded => _recorded ?? (IReadOnlyList<FixtureChange>)Array.Empty<FixtureChange>();

    /// <summary>Defines a new fixture in the current stage.</summary>
    public void Add(string name, object? value)
    {
        if (_recorded is not null) _recorded.Add(new FixtureChange(name, value, false));
        else _engine!.Define(name, value, _extension);
    }

    /// <summary>Replaces the value of a live fixture this hook is allowed to replace.</summary>
    public void Replace(string name, object? value)
    {
        if (_recorded is not null) _recorded.Add(new FixtureChange(name, value, true));
        else _engine!.Replace(name, value, _extension, _hook);
    }
}
