namespace TrainManager.Stages;

/// <summary>
/// An entered stage. Disposing it leaves the stage: post hooks run (in reverse order) and the
/// stage's fixtures are released. A struct, so entering a stage allocates nothing.
/// </summary>
public readonly struct StageScope : IDisposable
{
    private readonly StageEngine _engine;
    private readonly int _index;

    internal StageScope(StageEngine engine, int index)
    {
        _engine = engine;
        _index = index;
    }

    /// <summary>True when a hook skipped this stage instance (or an enclosing one), or the routine is stopping:
    /// the body should do nothing more.</summary>
    public bool Skipped => _engine.IsSkipped(_index);

    public void Dispose() => _engine?.Exit(_index);
}

/// <summary>The fixtures of the running routine, as the routine's own code sees them.</summary>
public sealed class Fixtures
{
    private readonly StageEngine _engine;
    internal Fixtures(StageEngine engine) => _engine = engine;

    /// <summary>Reading a fixture that is not alive is an error listing those that are;
    /// assigning defines a new fixture in the current stage (an error if one of that name is alive).</summary>
    public object? this[string name]
    {
        get => _engine.Get(name);
        set => _engine.Define(name, value, null);
    }

    public T Get<T>(string name) => _engine.Get(name) is T t
        ? t
        : throw new FixtureTypeMismatchException(name, _engine.Owner.GetType().Name, typeof(T), _engine.Get(name)?.GetType() ?? typeof(object));

    public bool TryGet<T>(string name, out T value)
    {
        if (_engine.TryGet(name, out var v) && v is T t) { value = t; return true; }
        value = default!;
        return false;
    }

    public bool IsAlive(string name) => _engine.TryGet(name, out _);

    /// <summary>Defines a fixture owned by the enclosing stage <paramref name="stage"/> rather than the innermost one.</summary>
    public void DefineIn(string stage, string name, object? value) => _engine.DefineIn(stage, name, value);

    /// <summary>Deliberately updates a live fixture, keeping its owning stage.</summary>
    public void Replace(string name, object? value) => _engine.Replace(name, value, null, null);

    public IReadOnlyList<string> Alive => _engine.AliveNames();
}
