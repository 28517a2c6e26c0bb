namespace TrainManager.Stages;

/// <summary>
/// A class whose methods are cut into named stages that extensions hook into. Subclasses call
/// <see cref="Staged(string)"/> around each part of a routine and put its variables in <see cref="Fixtures"/>.
/// </summary>
public abstract class Extensible
{
    private StageTree? _declared;
    private bool _declaredResolved;

    protected Extensible(params Extension[] extensions)
    {
        Engine = new StageEngine(this);
        Fixtures = new Fixtures(Engine);
        if (Environment.GetEnvironmentVariable("TRAINMANAGER_TRACE") is "1" or "true")
            TraceHooks((string line) => Console.Error.WriteLine($"[trace] {line}"));
        foreach (var extension in extensions) Register(extension);
    }

    public StageEngine Engine { get; }

    public Fixtures Fixtures { get; }

    /// <summary>What hosts this extensible's blocking and observing extensions; <see cref="ExtensibleHosts.Default"/>
    /// when unset (Trainer.Core sets that to actors in a process-wide local actor system).</summary>
    public IExtensionHosts? Hosts { get; set; }

    /// <summary>The stage tree this extensible declares, or null when it declares none (then hooks are checked at run time only).</summary>
    protected virtual StageTree? DeclareStages() => null;

    public StageTree? DeclaredStages
    {
        get
        {
            if (!_declaredResolved)
            {
                _declared = DeclareStages();
                _declared?.Seal();
                _declaredResolved = true;
            }
            return _declared;
        }
    }

    /// <summary>How closely the routines are held to <see cref="DeclaredStages"/> while they run: by default exactly, so
    /// that the declaration extensions are checked against cannot drift from what the routines do.</summary>
    protected internal virtual StageTreeConformance Conformance => StageTreeConformance.Exact;

    public IReadOnlyList<Extension> Extensions => Engine.Extensions;

    /// <summary>Adds an extension. Its hooks are bound now; with a declared stage tree, a hook that can never
    /// be satisfied is refused here with <see cref="HookRegistrationException"/>.</summary>
    public void Register(Extension extension) => Engine.Register(extension, DeclaredStages);

    /// <summary>Prints which hooks run, in which order, for which stage instance.</summary>
    public void TraceHooks(Action<string> sink) => Engine.Trace = e => sink(e.ToString());

    public void TraceEvents(Action<TraceEvent> sink) => Engine.Trace = sink;

    public void StopTracing() => Engine.Trace = null;

    /// <summary>Reports stage transitions (the stage actor listens here).</summary>
    public void Listen(IStageListener? listener) => Engine.Listener = listener;

    public bool StopRequested => Engine.StopRequested;

    /// <summary>Asks the running routine to stop after the current stage instances.</summary>
    public void RequestStop(string reason) => Engine.RequestStop(reason);

    protected StageScope Staged(string stage) =>
        new(Engine, Engine.Enter(stage, ReadOnlySpan<(string, object?)>.Empty));

    protected StageScope Staged(string stage, (string Name, object? Value) fixture) =>
        new(Engine, Engine.Enter(stage, new ReadOnlySpan<(string, object?)>(in fixture)));

    protected StageScope Staged(string stage, params ReadOnlySpan<(string Name, object? Value)> fixtures) =>
        new(Engine, Engine.Enter(stage, fixtures));
}

/// <summary>The hosts an extensible without its own <see cref="Extensible.Hosts"/> uses.</summary>
public static class ExtensibleHosts
{
    /// <summary>Set once by the library that provides hosting (Trainer.Core, when it is loaded); null otherwise.</summary>
    public static IExtensionHosts? Default { get; set; }
}
