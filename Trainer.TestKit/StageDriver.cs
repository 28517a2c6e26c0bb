using Akka.Actor;
using TrainManager.Actors;
using TrainManager.Stages;

namespace TrainManager.Testing;

/// <summary>
/// An extensible with no routine of its own: a test enters and leaves stages with the fixtures it
/// chooses, and reads back which hooks ran and what they left in the fixtures. Given a stage tree, it checks
/// hooks against it as the real extensible does, and refuses stages and fixtures the tree does not declare.
/// </summary>
public sealed class StageDriver : Extensible
{
    private readonly StageTree? _tree;
    private readonly List<TraceEvent> _trace = new();

    public StageDriver(ActorSystem? system, StageTree? tree, params Extension[] extensions) : base()
    {
        _tree = tree;
        this.UseActors(system);
        TraceEvents(e => { lock (_trace) _trace.Add(e); });
        foreach (var extension in extensions) Register(extension);
    }

    protected override StageTree? DeclareStages() => _tree;

    /// <summary>A test enters the stages it needs, where it likes; the stages and fixtures must still be declared in
    /// the tree, with values of their declared types, so that what passes here works in the real routine.</summary>
    protected override StageTreeConformance Conformance => StageTreeConformance.NamesAndTypes;

    /// <summary>Every enter, exit, skip and hook call so far, in order.</summary>
    public IReadOnlyList<TraceEvent> Trace { get { lock (_trace) return _trace.ToArray(); } }

    /// <summary>The hooks that ran, as "Extension.Hook", in order.</summary>
    public IReadOnlyList<string> HooksRan => Trace.Where(e => e.Kind == TraceKind.Hook).Select(e => e.Hook!).ToArray();

    public void ClearTrace() { lock (_trace) _trace.Clear(); }

    /// <summary>Enters a stage; dispose the result to leave it (post hooks run then).</summary>
    public StageScope Enter(string stage, params (string Name, object? Value)[] fixtures) => Staged(stage, fixtures);

    /// <summary>Runs one instance of a stage: entry fixtures, an optional body, exit.</summary>
    public void Run(string stage, (string Name, object? Value)[] entry, Action<Fixtures>? body = null)
    {
        using var scope = Staged(stage, entry);
        if (!scope.Skipped) body?.Invoke(Fixtures);
    }

    public void Run(string stage, params (string Name, object? Value)[] entry) => Run(stage, entry, null);
}
