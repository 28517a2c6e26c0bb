namespace TrainManager.Stages;

/// <summary>
/// The stages an extensible declares and the fixtures each provides, so that a hook that can
/// never be satisfied is refused when its extension is registered, not an hour into training.
/// </summary>
public sealed class StageTree
{
    private readonly List<StageNode> _roots = new();

    public IReadOnlyList<StageNode> Roots => _roots;

    /// <summary>Declares a top-level stage.</summary>
    public StageTree Stage(string name, Action<StageNode>? configure = null)
    {
        var node = new StageNode(name, null);
        configure?.Invoke(node);
        _roots.Add(node);
        return this;
    }

    public IEnumerable<StageNode> All => _roots.SelectMany(r => r.SelfAndDescendants);

    public IEnumerable<StageNode> Find(string stage) => All.Where(n => n.Name == stage);

    public bool IsReplaceable(string fixture) => All.Any(n => n.ReplaceableFixtures.Contains(fixture));

    /// <summary>Prints the tree, one stage a line, with what each provides: for docs and error messages.</summary>
    public override string ToString() => string.Join(Environment.NewLine, All.Select(n =>
        $"{new string(' ', 2 * n.Depth)}{n.Name}  entry: [{string.Join(", ", n.EntryFixtures)}]  body: [{string.Join(", ", n.BodyFixtures)}]"));
}

public sealed class StageNode
{
    private readonly List<StageNode> _children = new();
    private readonly List<string> _entry = new();
    private readonly List<string> _body = new();
    private readonly HashSet<string> _replaceable = new();

    internal StageNode(string name, StageNode? parent)
    {
        Name = name;
        Parent = parent;
    }

    public string Name { get; }
    public StageNode? Parent { get; }
    public int Depth => Parent is null ? 0 : Parent.Depth + 1;
    public string Path => Parent is null ? Name : $"{Parent.Path}/{Name}";
    public IReadOnlyList<StageNode> Children => _children;
    /// <summary>Fixtures alive from the stage's entry (passed to <c>Staged</c>): pre hooks see them.</summary>
    public IReadOnlyList<string> EntryFixtures => _entry;
    /// <summary>Fixtures the stage's body defines: post hooks see them.</summary>
    public IReadOnlyList<string> BodyFixtures => _body;
    public IReadOnlySet<string> ReplaceableFixtures => _replaceable;

    public StageNode Entry(params string[] fixtures) { _entry.AddRange(fixtures); return this; }
    public StageNode Body(params string[] fixtures) { _body.AddRange(fixtures); return this; }

    /// <summary>Fixtures of this stage that hooks may replace (e.g. the batch's inputs, to augment them).</summary>
    public StageNode Replaceable(params string[] fixtures) { _replaceable.UnionWith(fixtures); return this; }

    public StageNode Stage(string name, Action<StageNode>? configure = null)
    {
        var node = new StageNode(name, this);
        configure?.Invoke(node);
        _children.Add(node);
        return this;
    }

    internal IEnumerable<StageNode> SelfAndDescendants => new[] { this }.Concat(_children.SelectMany(c => c.SelfAndDescendants));

    /// <summary>The fixtures alive when a hook of this stage runs in the given phase.</summary>
    public IReadOnlySet<string> AliveAt(HookPhase phase)
    {
        var alive = new HashSet<string>(_entry);
        if (phase == HookPhase.Post) alive.UnionWith(_body);
        for (var p = Parent; p is not null; p = p.Parent)
        {
            alive.UnionWith(p._entry);
            alive.UnionWith(p._body);
        }
        return alive;
    }
}
