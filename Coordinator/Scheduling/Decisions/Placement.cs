namespace TrainManager.Coordinator.Scheduling.Decisions;

/// <summary>A run waiting for slots, as placement sees it.</summary>
/// <param name="QueuedSince">When it (last) joined the queue: the older run is served first.</param>
/// <param name="Device">What it trains on (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>): it takes slots of the same kind.</param>
/// <param name="Workers">How many slots it asks for (one per rank).</param>
/// <param name="MinWorkers">How few it starts with once <paramref name="ReplacementWait"/> is over.</param>
public sealed record QueuedRun(string RunId, DateTimeOffset QueuedSince, string Device, int Workers, int MinWorkers, TimeSpan ReplacementWait)
{
    /// <summary>Oldest first; runs queued at the same instant by id.</summary>
    public static IComparer<QueuedRun> ServeOrder { get; } = Comparer<QueuedRun>.Create((a, b) =>
    {
        var bySince = a.QueuedSince.CompareTo(b.QueuedSince);
        return bySince != 0 ? bySince : string.CompareOrdinal(a.RunId, b.RunId);
    });

    public bool IsDataParallel => Workers > 1;

    public DateTimeOffset WaitEnds => QueuedSince + ReplacementWait;
}

/// <summary>A free worker slot, as placement sees it.</summary>
/// <param name="Id">The caller's name for the slot, handed back in the <see cref="Assignment"/>.</param>
/// <param name="Node">The node it is on: the ranks of a run are spread over nodes.</param>
/// <param name="Index">Its number on its node: of a node's free slots the lowest is taken first.</param>
/// <param name="DataParallel">It has a data endpoint, so it can be a rank of a data-parallel run.</param>
public sealed record FreeSlot(string Id, string Node, int Index, string Device, bool DataParallel);

/// <summary>A queued run goes onto these slots, in rank order.</summary>
public sealed record Assignment(string RunId, IReadOnlyList<FreeSlot> Slots);

/// <summary>A queued run that could start with its minimum once its replacement wait ends: look again then.</summary>
public sealed record PlacementWait(string RunId, DateTimeOffset Until);

/// <summary>What one placement round decided.</summary>
public sealed record PlacementResult(IReadOnlyList<Assignment> Assignments, IReadOnlyList<PlacementWait> Waits)
{
    /// <summary>How many queued runs the round looked at before nothing more could fit.</summary>
    public int Examined { get; init; }
}

/// <summary>
/// Which queued run gets which free slots. The rules, per device kind:
/// <list type="bullet">
/// <item>First come, first served: the oldest queued run gets the next free slots that can run it.</item>
/// <item>A run that asks for more slots than are free holds back the younger runs of its kind, so they cannot starve
/// it, unless the cluster has fewer slots of its kind (busy or free) than its minimum, so it could never start.</item>
/// <item>After its replacement wait a data-parallel run starts with what is free if that is at least its minimum;
/// before, it waits (and the round says until when).</item>
/// <item>A data-parallel run takes only slots with a data endpoint (its ranks must reach each other); its ranks are
/// spread over the nodes: each next rank goes to the node this run has used least, then to the node with the most
/// free slots left, then to the lowest node name, and there to the lowest slot index.</item>
/// </list>
/// Pure: the inputs are not changed, and the same inputs give the same result.
/// </summary>
public static class Placement
{
    /// <param name="queue">The queued runs in the order they are served (<see cref="QueuedRun.ServeOrder"/>); read
    /// only as far as something can still fit, so a long queue costs nothing once the cluster is full.</param>
    /// <param name="free">Every free slot.</param>
    /// <param name="slotsOfKind">How many slots of each device kind (<see cref="Experiments.DeviceKinds.Of"/>) the cluster
    /// has, busy or free: a run whose minimum is more than that never holds the queue.</param>
    public static PlacementResult Place(IEnumerable<QueuedRun> queue, IEnumerable<FreeSlot> free,
        IReadOnlyDictionary<string, int> slotsOfKind, DateTimeOffset now)
    {
        var round = new PlacementRound(free, slotsOfKind, now);
        var examined = 0;
        foreach (var run in queue)
        {
            if (round.NothingMoreFits)
                break;
            examined++;
            round.Decide(run);
        }
        return new PlacementResult(round.Assignments, round.Waits) { Examined = examined };
    }
}

/// <summary>
/// The working state of one <see cref="Placement.Place"/>: the free slots indexed by kind and node, and the kinds held
/// back. Public so that a benchmark can time each decision; anything else calls <see cref="Placement.Place"/>.
/// </summary>
public sealed class PlacementRound
{
    readonly Dictionary<string, KindPool> _pools = new(StringComparer.Ordinal);
    readonly IReadOnlyDictionary<string, int> _slotsOfKind;
    readonly DateTimeOffset _now;
    readonly HashSet<string> _held = new(StringComparer.Ordinal);
    readonly List<Assignment> _assignments = [];
    readonly List<PlacementWait> _waits = [];
    /// <summary>Kinds with a free slot that are not held back: none left, and no later run can be placed.</summary>
    int _openKinds;

    public PlacementRound(IEnumerable<FreeSlot> free, IReadOnlyDictionary<string, int> slotsOfKind, DateTimeOffset now)
    {
        _slotsOfKind = slotsOfKind;
        _now = now;
        foreach (var slot in free)
        {
            var kind = Experiments.DeviceKinds.Of(slot.Device);
            if (!_pools.TryGetValue(kind, out var pool))
                _pools[kind] = pool = new KindPool();
            pool.Add(slot);
        }
        foreach (var pool in _pools.Values)
            pool.Index();
        _openKinds = _pools.Count;
    }

    public IReadOnlyList<Assignment> Assignments => _assignments;
    public IReadOnlyList<PlacementWait> Waits => _waits;
    public bool NothingMoreFits => _openKinds == 0;

    /// <summary>Decides for the next run in serve order: it is assigned slots, waits, or is passed over.</summary>
    public Assignment? Decide(QueuedRun run)
    {
        if (run.Workers < 1 || run.MinWorkers < 1 || run.MinWorkers > run.Workers)
            throw new ArgumentException(
                $"Run {run.RunId} asks for {run.Workers} workers with a minimum of {run.MinWorkers}; a run needs at least one worker and a minimum between 1 and its workers.",
                nameof(run));
        var kind = Experiments.DeviceKinds.Of(run.Device);
        if (_held.Contains(kind))
            return null;
        var pool = _pools.GetValueOrDefault(kind);
        var free = pool?.FreeCount(run.IsDataParallel) ?? 0;
        int count;
        if (free >= run.Workers)
            count = run.Workers;
        else if (free >= run.MinWorkers && free > 0 && _now >= run.WaitEnds)
            count = free;
        else
        {
            if (_slotsOfKind.GetValueOrDefault(kind) >= run.MinWorkers && _held.Add(kind) && pool is { Free: > 0 })
                _openKinds--;
            // Enough slots for its minimum, but its wait is not over: look again when it is.
            if (free >= run.MinWorkers && free > 0)
                _waits.Add(new PlacementWait(run.RunId, run.WaitEnds));
            return null;
        }
        var wasOpen = pool!.Free > 0;
        var assignment = new Assignment(run.RunId, pool.Take(count, run.IsDataParallel));
        if (wasOpen && pool.Free == 0)
            _openKinds--;
        _assignments.Add(assignment);
        return assignment;
    }

    /// <summary>The free slots of one device kind, by node, in two views: all of them (single-worker runs) and those
    /// with a data endpoint (data-parallel runs). Each view orders its nodes by free slots, most first, then by name.</summary>
    sealed class KindPool
    {
        readonly Dictionary<string, NodeSlots> _nodes = new(StringComparer.Ordinal);
        readonly SortedSet<NodeSlots> _byFree = new(NodeOrder(dataParallel: false));
        readonly SortedSet<NodeSlots> _byFreeDataParallel = new(NodeOrder(dataParallel: true));

        public int Free { get; private set; }
        public int FreeDataParallel { get; private set; }

        public int FreeCount(bool dataParallel) => dataParallel ? FreeDataParallel : Free;

        public void Add(FreeSlot slot)
        {
            if (!_nodes.TryGetValue(slot.Node, out var node))
                _nodes[slot.Node] = node = new NodeSlots(slot.Node);
            node.All.Add(slot);
            if (slot.DataParallel)
                node.DataParallel.Add(slot);
            Free++;
            if (slot.DataParallel)
                FreeDataParallel++;
        }

        public void Index()
        {
            foreach (var node in _nodes.Values)
            {
                node.All.Sort(ByIndex);
                node.DataParallel.Sort(ByIndex);
                _byFree.Add(node);
                if (node.DataParallel.Count > 0)
                    _byFreeDataParallel.Add(node);
            }
        }

        /// <summary>
        /// Spreads <paramref name="count"/> ranks over the nodes. Taking the node used least, then the one with the
        /// most free slots left, amounts to rounds: in round r every node with more than r free slots gets one more
        /// rank, in the order most free first; those nodes are a prefix of the ordered view, so a pick reads only as
        /// many nodes as it takes slots.
        /// </summary>
        public IReadOnlyList<FreeSlot> Take(int count, bool dataParallel)
        {
            var view = dataParallel ? _byFreeDataParallel : _byFree;
            var picked = new List<FreeSlot>(count);
            var touched = new List<NodeSlots>();
            for (var round = 0; picked.Count < count; round++)
            {
                var any = false;
                foreach (var node in view)
                {
                    var slots = dataParallel ? node.DataParallel : node.All;
                    if (slots.Count <= round)
                        break; // ordered by free slots: no later node has more
                    any = true;
                    if (round == 0)
                        touched.Add(node);
                    picked.Add(slots[round]);
                    if (picked.Count == count)
                        break;
                }
                if (!any)
                    break;
            }
            foreach (var node in touched)
                Remove(node, picked);
            return picked;
        }

        void Remove(NodeSlots node, List<FreeSlot> picked)
        {
            _byFree.Remove(node);
            _byFreeDataParallel.Remove(node);
            foreach (var slot in picked)
            {
                if (slot.Node != node.Name)
                    continue;
                node.All.Remove(slot);
                Free--;
                if (slot.DataParallel && node.DataParallel.Remove(slot))
                    FreeDataParallel--;
            }
            if (node.All.Count > 0)
                _byFree.Add(node);
            if (node.DataParallel.Count > 0)
                _byFreeDataParallel.Add(node);
        }

        static readonly Comparison<FreeSlot> ByIndex = (a, b) => a.Index.CompareTo(b.Index);

        static IComparer<NodeSlots> NodeOrder(bool dataParallel) => Comparer<NodeSlots>.Create((a, b) =>
        {
            var byFree = (dataParallel ? b.DataParallel.Count : b.All.Count).CompareTo(dataParallel ? a.DataParallel.Count : a.All.Count);
            return byFree != 0 ? byFree : string.CompareOrdinal(a.Name, b.Name);
        });
    }

    sealed class NodeSlots(string name)
    {
        public string Name { get; } = name;
        public List<FreeSlot> All { get; } = [];
        public List<FreeSlot> DataParallel { get; } = [];
    }
}
