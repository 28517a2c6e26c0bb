namespace TrainManager.Stages;

/// <summary>
/// The stages an extensible declares, the fixtures each provides with their types, and the order in which a
/// stage's body fixtures and child stages come. It is the contract extensions rely on: a hook that can never
/// be satisfied, or that wants a fixture as a type it is not, is refused when its extension is registered; and
/// a routine whose <c>Staged</c> calls or fixtures stray from it fails at once (see <see cref="StageTreeConformance"/>).
/// </summary>
public sealed class StageTree
{
    private readonly List<StageNode> _roots = new();
    private readonly Lock _sealGate = new();
    private volatile bool _sealed;
    private HashSet<string> _stageNames = new(StringComparer.Ordinal);
    private FixtureDeclaration[]?[] _byId = [];

    public IReadOnlyList<StageNode> Roots => _roots;

    /// <summary>Declares a top-level stage.</summary>
    public StageTree Stage(string name, Action<StageNode>? configure = null)
    {
        ThrowIfSealed();
        var node = new StageNode(name, null, this);
        configure?.Invoke(node);
        _roots.Add(node);
        return this;
    }

    /// <summary>Every stage, depth first in declared order.</summary>
    public IEnumerable<StageNode> All => _roots.SelectMany(r => r.SelfAndDescendants);

    public IEnumerable<StageNode> Find(string stage) => All.Where(n => n.Name == stage);

    /// <summary>Every fixture declaration in the order a routine defines them: a stage's entry fixtures, then its body's
    /// fixtures and child stages in their order.</summary>
    public IEnumerable<FixtureDeclaration> Fixtures => _roots.SelectMany(r => r.InRoutineOrder);

    public bool IsReplaceable(string fixture) => All.Any(n => n.ReplaceableFixtures.Contains(fixture));

    /// <summary>Where a fixture is defined and which hooks can read it, in a sentence for error messages:
    /// "'metrics' is defined in fit/epoch after train and validate: read it in PostEpoch, PreCheckpoint, …".</summary>
    public string DescribeWhere(string fixture)
    {
        var declarations = Fixtures.Where(d => d.Name == fixture).ToList();
        if (declarations.Count == 0) return $"No stage declares '{fixture}'.";
        var readers = All.SelectMany(n => new[] { HookPhase.Pre, HookPhase.Post }
                .Where(phase => n.AliveAt(phase).Contains(fixture))
                .Select(phase => $"{phase}{StageNaming.ToPascalCase(n.Name)}"))
            .Distinct().ToList();
        return $"'{fixture}' is defined {string.Join(", and ", declarations.Select(d => d.Place))}" +
               (readers.Count == 0 ? "." : $": read it in {StageNaming.JoinWithOr(readers)}.");
    }

    /// <summary>Prints the tree with every fixture's type, one stage a line, body fixtures (<c>+</c>) where they
    /// come among the child stages: for docs and error messages.</summary>
    public override string ToString()
    {
        var lines = new List<string>();
        foreach (var root in _roots) root.Print(lines);
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The fixtures as a Markdown table (fixture, type, stage, when it is defined), for the docs.</summary>
    public string FixtureTable()
    {
        var lines = new List<string> { "| fixture | type | kept by stage | defined |", "|---|---|---|---|" };
        foreach (var d in Fixtures)
            lines.Add($"| `{d.Name}` | `{d.TypeName}` | `{d.Owner.Path}` | {d.When}{(d.IsReplaceable ? "; hooks may replace it" : "")} |");
        return string.Join("\n", lines) + "\n";
    }

    // ---- what the engine looks up on the hot path (built once, when the tree is first used) ---------------------

    internal void Seal()
    {
        if (_sealed) return;
        lock (_sealGate)
        {
            if (_sealed) return;
            foreach (var node in All) node.Seal();
            _stageNames = All.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
            var byId = new FixtureDeclaration[]?[FixtureKeys.Count];
            foreach (var group in Fixtures.GroupBy(d => d.Id)) byId[group.Key] = group.ToArray();
            _byId = byId;
            _sealed = true;
        }
    }

    internal void ThrowIfSealed()
    {
        if (_sealed) throw new InvalidOperationException("This stage tree is in use by an extensible; declare every stage and fixture before it is used.");
    }

    internal StageNode? RootNamed(string name)
    {
        foreach (var root in _roots)
            if (string.Equals(root.Name, name, StringComparison.Ordinal)) return root;
        return null;
    }

    internal bool HasStage(string name) => _stageNames.Contains(name);

    /// <summary>Every declaration of the fixture with this id, anywhere in the tree; null when none.</summary>
    internal FixtureDeclaration[]? DeclarationsOf(int id) => (uint)id < (uint)_byId.Length ? _byId[id] : null;
}

public sealed class StageNode
{
    private readonly StageTree _tree;
    private readonly List<StageNode> _children = new();
    private readonly List<FixtureDeclaration> _entry = new();
    private readonly List<object> _sequence = new();
    private readonly HashSet<string> _replaceable = new();
    private FixtureDeclaration?[] _keptById = [];

    internal StageNode(string name, StageNode? parent, StageTree tree)
    {
        Name = name;
        Parent = parent;
        _tree = tree;
    }

    public string Name { get; }
    public StageNode? Parent { get; }
    public int Depth => Parent is null ? 0 : Parent.Depth + 1;
    public string Path => Parent is null ? Name : $"{Parent.Path}/{Name}";
    public IReadOnlyList<StageNode> Children => _children;
    /// <summary>Fixtures alive from the stage's entry (passed to <c>Staged</c>): pre hooks see them.</summary>
    public IReadOnlyList<FixtureDeclaration> Entries => _entry;
    /// <summary>The stage's body in order: its <see cref="FixtureDeclaration"/>s and child <see cref="StageNode"/>s.</summary>
    public IReadOnlyList<object> Sequence => _sequence;
    public IReadOnlyList<string> EntryFixtures => _entry.Select(d => d.Name).ToArray();
    /// <summary>Fixtures the stage's body defines: post hooks see them.</summary>
    public IReadOnlyList<string> BodyFixtures => _sequence.OfType<FixtureDeclaration>().Select(d => d.Name).ToArray();
    public IReadOnlySet<string> ReplaceableFixtures => _replaceable;

    /// <summary>Fixtures passed to <c>Staged</c>, of any type.</summary>
    public StageNode Entry(params string[] fixtures) => Entry<object>(fixtures);

    /// <summary>Fixtures passed to <c>Staged</c>, of type <typeparamref name="T"/>.</summary>
    public StageNode Entry<T>(params string[] fixtures)
    {
        _tree.ThrowIfSealed();
        foreach (var f in fixtures) _entry.Add(new FixtureDeclaration(f, typeof(T), this, this, onEntry: true));
        return this;
    }

    /// <summary>Fixtures the body defines at this point (after the child stages declared so far), of any type.</summary>
    public StageNode Body(params string[] fixtures) => Body<object>(fixtures);

    /// <summary>Fixtures the body defines at this point (after the child stages declared so far).</summary>
    public StageNode Body<T>(params string[] fixtures) => BodyKeptBy<T>(Name, fixtures);

    /// <summary>Fixtures this stage's body defines for the enclosing stage <paramref name="owner"/>
    /// (<c>Fixtures.DefineIn</c>): alive from here until the owner exits (the batch's loss, computed in the loss stage).</summary>
    public StageNode BodyKeptBy<T>(string owner, params string[] fixtures)
    {
        _tree.ThrowIfSealed();
        var keeper = this;
        while (keeper is not null && keeper.Name != owner) keeper = keeper.Parent;
        if (keeper is null) throw new ArgumentException($"Stage '{Path}' has no enclosing stage '{owner}' to keep its fixtures.", nameof(owner));
        foreach (var f in fixtures) _sequence.Add(new FixtureDeclaration(f, typeof(T), this, keeper, onEntry: false));
        return this;
    }

    /// <summary>Fixtures of this stage that may hold null (a run without a run directory).</summary>
    public StageNode MayBeNull(params string[] fixtures)
    {
        foreach (var f in fixtures) Declared(f).MayBeNull = true;
        return this;
    }

    /// <summary>What a hook author should know to read the fixture, shown when a hook asks for it as the wrong type.</summary>
    public StageNode Hint(string fixture, string hint)
    {
        Declared(fixture).Hint = hint;
        return this;
    }

    /// <summary>Fixtures of this stage that hooks may replace (e.g. the batch's inputs, to augment them).</summary>
    public StageNode Replaceable(params string[] fixtures) { _replaceable.UnionWith(fixtures); return this; }

    /// <summary>Declares a child stage here, after the body fixtures and child stages declared so far.</summary>
    public StageNode Stage(string name, Action<StageNode>? configure = null)
    {
        _tree.ThrowIfSealed();
        var node = new StageNode(name, this, _tree);
        configure?.Invoke(node);
        _children.Add(node);
        _sequence.Add(node);
        return this;
    }

    private FixtureDeclaration Declared(string fixture) =>
        _entry.Concat(_sequence.OfType<FixtureDeclaration>()).LastOrDefault(d => d.Name == fixture)
        ?? throw new ArgumentException($"Stage '{Path}' declares no fixture '{fixture}'.", nameof(fixture));

    internal IEnumerable<FixtureDeclaration> InRoutineOrder =>
        _entry.Concat(_sequence.SelectMany(item => item is StageNode child ? child.InRoutineOrder : [(FixtureDeclaration)item]));

    internal IEnumerable<StageNode> SelfAndDescendants => new[] { this }.Concat(_children.SelectMany(c => c.SelfAndDescendants));

    internal bool IsAncestorOrSelf(StageNode node)
    {
        for (var n = node; n is not null; n = n.Parent)
            if (ReferenceEquals(n, this)) return true;
        return false;
    }

    /// <summary>The fixtures alive when a hook of this stage runs in the given phase.</summary>
    public IReadOnlySet<string> AliveAt(HookPhase phase) => AliveDeclarationsAt(phase).Select(d => d.Name).ToHashSet();

    /// <summary>The declarations alive when a hook of this stage runs in the given phase: the entry fixtures of this
    /// stage and its ancestors, an ancestor's body fixtures defined before the path to this stage enters its child,
    /// and in a post hook this stage's own body fixtures.</summary>
    public IReadOnlyList<FixtureDeclaration> AliveDeclarationsAt(HookPhase phase)
    {
        var path = new List<StageNode>();
        for (var n = this; n is not null; n = n.Parent) path.Insert(0, n);
        var alive = new List<FixtureDeclaration>();
        for (var i = 0; i < path.Count; i++)
        {
            var stage = path[i];
            alive.AddRange(stage._entry);
            var next = i + 1 < path.Count ? path[i + 1] : null;
            if (next is null && phase == HookPhase.Pre) break;
            foreach (var item in stage._sequence)
            {
                if (ReferenceEquals(item, next)) break;
                if (item is FixtureDeclaration d) alive.Add(d);
                else alive.AddRange(((StageNode)item).DefinedFor(stage));
            }
        }
        return alive;
    }

    /// <summary>The body fixtures defined inside this stage (at any depth) that outlive it: those kept by
    /// <paramref name="enclosing"/> or a stage around it.</summary>
    private IEnumerable<FixtureDeclaration> DefinedFor(StageNode enclosing) =>
        SelfAndDescendants.SelectMany(n => n._sequence.OfType<FixtureDeclaration>())
            .Where(d => d.Owner.IsAncestorOrSelf(enclosing));

    internal void Print(List<string> lines)
    {
        var indent = new string(' ', 2 * Depth);
        lines.Add(_entry.Count == 0 ? $"{indent}{Name}" : $"{indent}{Name}  ({string.Join(", ", _entry.Select(d => d.Signature))})");
        foreach (var item in _sequence)
        {
            if (item is StageNode child) child.Print(lines);
            else lines.Add($"{indent}  + {((FixtureDeclaration)item).Signature}");
        }
    }

    // ---- hot-path lookups, built when the tree is sealed ---------------------------------------------------------

    internal void Seal()
    {
        var kept = _entry.Concat(SelfAndDescendants.SelectMany(n => n._sequence.OfType<FixtureDeclaration>())
            .Where(d => ReferenceEquals(d.Owner, this))).ToList();
        var byId = new FixtureDeclaration?[kept.Count == 0 ? 0 : kept.Max(d => d.Id) + 1];
        foreach (var d in kept) byId[d.Id] ??= d;
        _keptById = byId;
    }

    internal StageNode? ChildNamed(string name)
    {
        var children = _children;
        for (var i = 0; i < children.Count; i++)
            if (string.Equals(children[i].Name, name, StringComparison.Ordinal)) return children[i];
        return null;
    }

    /// <summary>The declaration of a fixture this stage keeps (its entry fixtures and the body fixtures kept by it).</summary>
    internal FixtureDeclaration? KeptDeclaration(int id) => (uint)id < (uint)_keptById.Length ? _keptById[id] : null;

    public override string ToString() => Path;
}

/// <summary>One fixture of a declared stage tree: its name, its type, the stage whose code defines it and the
/// stage that keeps it alive.</summary>
public sealed class FixtureDeclaration
{
    internal FixtureDeclaration(string name, Type type, StageNode definedIn, StageNode owner, bool onEntry)
    {
        Name = name;
        Type = type;
        DefinedIn = definedIn;
        Owner = owner;
        OnEntry = onEntry;
        Id = FixtureKeys.IdOf(name);
    }

    public string Name { get; }
    /// <summary>The type every value of the fixture has; <see cref="object"/> when the declaration leaves it open.</summary>
    public Type Type { get; }
    /// <summary>The stage whose code defines the fixture.</summary>
    public StageNode DefinedIn { get; }
    /// <summary>The stage that keeps the fixture: <see cref="DefinedIn"/>, or an enclosing stage.</summary>
    public StageNode Owner { get; }
    /// <summary>Passed to <c>Staged</c> on entry (rather than defined by the body).</summary>
    public bool OnEntry { get; }
    public bool MayBeNull { get; internal set; }
    public string? Hint { get; internal set; }
    public bool IsReplaceable => DefinedIn.ReplaceableFixtures.Contains(Name);
    internal int Id { get; }

    /// <summary>The type as C# writes it (<c>string?</c> when the fixture may be null).</summary>
    public string TypeName => StageNaming.TypeName(Type) + (MayBeNull && !Type.IsValueType && Type != typeof(object) ? "?" : "");

    public string Signature => $"{Name}: {TypeName}" + (ReferenceEquals(Owner, DefinedIn) ? "" : $" (kept by {Owner.Name})");

    /// <summary>Whether a value may be this fixture.</summary>
    public bool Accepts(object? value) =>
        value is null ? MayBeNull || Type == typeof(object) : Type == typeof(object) || value.GetType() == Type || Type.IsInstanceOfType(value);

    /// <summary>When the fixture comes to life within its stage, for the docs: "on entry", "after `train` and `validate`".</summary>
    public string When
    {
        get
        {
            if (OnEntry) return "on entry";
            if (!ReferenceEquals(Owner, DefinedIn)) return $"in `{DefinedIn.Name}`";
            var before = DefinedIn.Sequence.TakeWhile(i => !ReferenceEquals(i, this)).OfType<StageNode>().Select(s => $"`{s.Name}`").ToList();
            return before.Count == 0 ? "in the body" : $"in the body, after {StageNaming.JoinWithAnd(before)}";
        }
    }

    /// <summary>Where it is defined, for error messages: "in fit/epoch after train and validate".</summary>
    internal string Place
    {
        get
        {
            if (OnEntry) return $"on entry to {DefinedIn.Path}";
            if (!ReferenceEquals(Owner, DefinedIn)) return $"in {DefinedIn.Path} (kept by {Owner.Name})";
            var before = DefinedIn.Sequence.TakeWhile(i => !ReferenceEquals(i, this)).OfType<StageNode>().Select(s => s.Name).ToList();
            return before.Count == 0 ? $"in the body of {DefinedIn.Path}" : $"in {DefinedIn.Path} after {StageNaming.JoinWithAnd(before)}";
        }
    }

    public override string ToString() => $"{DefinedIn.Path}: {Signature}";
}

/// <summary>How closely a running routine is held to the stage tree its extensible declares.</summary>
public enum StageTreeConformance
{
    /// <summary>Every stage is entered where the tree declares it, and every fixture the routine defines is declared
    /// in the stage that defines it, on entry or in the body as declared, with a value of its declared type. An
    /// extensible's own routines: any drift between the code and its declaration fails the first run.</summary>
    Exact,
    /// <summary>Every stage and fixture must be declared somewhere in the tree, and every fixture's value must be
    /// of a declared type; where is up to the caller. For test drivers that enter a few stages of a routine.</summary>
    NamesAndTypes,
}
