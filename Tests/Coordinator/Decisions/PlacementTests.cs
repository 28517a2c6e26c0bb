using TrainManager.Coordinator.Experiments;
using TrainManager.Coordinator.Scheduling.Decisions;

namespace TrainManager.Tests.Coordinator.Decisions;

/// <summary>
/// Placement as a table: free slots and a queue in, assignments and waits out. Slots are written <c>node/index</c>,
/// with <c>@cuda</c> for a GPU slot and <c>!</c> for one without a data endpoint; runs <c>id:workers[/min][~wait s][@device]</c>,
/// queued a second apart in the order given; assignments <c>id=node/index,...</c> in rank order, waits <c>id@second</c>.
/// </summary>
public sealed class PlacementTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string, string, string, double, string, string> Cases => new()
    {
        // what, free slots, queue, slots of each kind (busy too; "" = just the free ones), now (s), assignments, waits
        { "a single-worker run takes the node with the most free slots, its lowest index", "a/0 b/1 b/0", "r1:1", "", 0, "r1=b/0", "" },
        { "ranks spread over the nodes, most free first, before two share one", "a/0 a/1 b/0 b/1 c/0", "r1:3", "", 0, "r1=a/0,b/0,c/0", "" },
        { "then the nodes used least get the next rank", "a/0 a/1 b/0 b/1 c/0", "r1:5", "", 0, "r1=a/0,b/0,c/0,a/1,b/1", "" },
        { "a node with more free slots comes before a lower name", "a/0 b/0 b/1 b/2 c/0 c/1", "r1:2", "", 0, "r1=b/0,c/0", "" },
        { "a data-parallel run takes only slots with a data endpoint", "a/0! b/0 d/0", "r1:2", "", 0, "r1=b/0,d/0", "" },
        { "a single-worker run takes a slot without one", "a/0! a/1!", "r1:1", "", 0, "r1=a/0", "" },
        { "first come, first served", "a/0", "r1:1 r2:1", "", 0, "r1=a/0", "" },
        { "runs are placed while slots last", "a/0 b/0 c/0", "r1:2 r2:1 r3:1", "", 0, "r1=a/0,b/0 | r2=c/0", "" },
        { "a run that does not fit holds back the younger runs of its kind", "a/0 a/1", "r1:3 r2:1", "cpu=4", 0, "", "" },
        { "unless the cluster has too few slots of its kind for it ever to start", "a/0 a/1", "r1:3 r2:1", "cpu=2", 0, "r2=a/0", "" },
        { "a held kind does not hold back another kind", "a/0 g/0@cuda", "r1:3 r2:1@cuda r3:1", "cpu=4", 0, "r2=g/0", "" },
        { "a cuda run with an index runs on any cuda slot", "g/1@cuda:1", "r1:1@cuda:0", "", 0, "r1=g/1", "" },
        { "before its wait ends a run with enough for its minimum waits, and says until when", "a/0 b/0 c/0", "r1:4/2~60", "cpu=4", 30, "", "r1@60" },
        { "after its wait it starts with every free slot", "a/0 b/0 c/0", "r1:4/2~60", "cpu=4", 61, "r1=a/0,b/0,c/0", "" },
        { "with fewer free slots than its minimum it waits without a time", "a/0", "r1:4/2~60", "cpu=4", 61, "", "" },
        { "a waiting run holds back the younger ones too", "a/0 b/0 c/0", "r1:4/2~60 r2:1", "cpu=4", 30, "", "r1@60" },
        { "nothing free, nothing placed", "", "r1:1 r2:2", "cpu=3", 0, "", "" },
        { "the wait counts from when the run was queued", "a/0 b/0 c/0", "r0:1 r1:4/2~60", "cpu=4", 60, "r0=a/0", "r1@61" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Places_as_the_rules_say(string what, string free, string queue, string slotsOfKind, double now, string assignments, string waits)
    {
        var slots = Slots(free);
        var result = Placement.Place(Queue(queue), slots, Kinds(slotsOfKind, slots), T0.AddSeconds(now));

        Assert.True(Text(result.Assignments) == assignments, $"{what}: expected '{assignments}', placed '{Text(result.Assignments)}'");
        Assert.Equal(waits, string.Join(" ", result.Waits.Select(w => $"{w.RunId}@{(w.Until - T0).TotalSeconds:0}")));
    }

    [Fact]
    public void Reading_the_queue_stops_when_nothing_more_can_fit()
    {
        var slots = Slots("a/0 b/0 c/0");
        var result = Placement.Place(Queue("r1:2 r2:1 r3:1 r4:1"), slots, Kinds("", slots), T0);

        Assert.Equal(2, result.Examined);
    }

    [Fact]
    public void A_full_cluster_reads_none_of_the_queue()
    {
        var result = Placement.Place(InfiniteQueue(), [], new Dictionary<string, int> { ["cpu"] = 8 }, T0);

        Assert.Empty(result.Assignments);
        Assert.Equal(0, result.Examined);
    }

    [Fact]
    public void A_run_that_asks_for_no_workers_is_refused_with_what_is_wrong()
    {
        var error = Assert.Throws<ArgumentException>(() => Placement.Place(Queue("r1:0"), Slots("a/0"), Kinds("", Slots("a/0")), T0));

        Assert.Contains("r1 asks for 0 workers", error.Message);
    }

    [Fact]
    public void The_serve_order_is_oldest_first_then_by_id()
    {
        var runs = new[] { Run("b", 0), Run("c", -1), Run("a", 0) };

        Assert.Equal(["c", "a", "b"], runs.Order(QueuedRun.ServeOrder).Select(r => r.RunId));
    }

    [Fact]
    public void The_inputs_are_not_changed_and_the_same_inputs_give_the_same_result()
    {
        var slots = Slots("a/0 a/1 b/0 c/0");
        var queue = Queue("r1:2 r2:1 r3:3");
        var first = Placement.Place(queue, slots, Kinds("", slots), T0);
        var second = Placement.Place(queue, slots, Kinds("", slots), T0);

        Assert.Equal(Text(first.Assignments), Text(second.Assignments));
        Assert.Equal(4, slots.Count);
    }

    /// <summary>On random clusters and queues, the same decisions as the registry's placement before it became this
    /// function (kept below in its slow, plain form: re-counting every free slot for every rank).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Decides_as_the_placement_it_replaced(int seed)
    {
        var random = new Random(seed);
        var nodes = random.Next(1, 8);
        var slots = new List<FreeSlot>();
        var total = new Dictionary<string, int>();
        for (var n = 0; n < nodes; n++)
            for (var i = 0; i < random.Next(1, 6); i++)
            {
                var device = random.Next(5) == 0 ? "cuda:" + i : "cpu";
                var kind = DeviceKinds.Of(device);
                total[kind] = total.GetValueOrDefault(kind) + 1;
                if (random.Next(3) > 0)
                    slots.Add(new FreeSlot($"n{n}/{i}", $"n{n}", i, device, random.Next(4) > 0));
            }
        var queue = Enumerable.Range(0, random.Next(1, 12)).Select(i =>
        {
            var workers = random.Next(1, 6);
            return new QueuedRun($"r{i}", T0.AddSeconds(random.Next(0, 5)), random.Next(5) == 0 ? "cuda" : "cpu", workers, random.Next(1, workers + 1),
                TimeSpan.FromSeconds(random.Next(0, 3) * 10));
        }).Order(QueuedRun.ServeOrder).ToList();
        var now = T0.AddSeconds(random.Next(0, 20));

        var expected = Previous.Place(queue, slots, total, now);
        var placed = Placement.Place(queue, slots, total, now);

        Assert.Equal(Text(expected.Assignments), Text(placed.Assignments));
        Assert.Equal(expected.Waits, placed.Waits);
    }

    static QueuedRun Run(string id, double at, int workers = 1) => new(id, T0.AddSeconds(at), "cpu", workers, workers, TimeSpan.Zero);

    static IEnumerable<QueuedRun> InfiniteQueue()
    {
        for (var i = 0; ; i++)
            yield return Run($"r{i}", i);
    }

    static List<FreeSlot> Slots(string spec) => spec.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s =>
    {
        var noEndpoint = s.EndsWith('!');
        s = s.TrimEnd('!');
        var at = s.IndexOf('@');
        var device = at < 0 ? "cpu" : s[(at + 1)..];
        var name = at < 0 ? s : s[..at];
        var (node, index) = (name.Split('/')[0], int.Parse(name.Split('/')[1]));
        return new FreeSlot(name, node, index, device, !noEndpoint);
    }).ToList();

    static List<QueuedRun> Queue(string spec) => spec.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((s, i) =>
    {
        var at = s.IndexOf('@');
        var device = at < 0 ? "cpu" : s[(at + 1)..];
        s = at < 0 ? s : s[..at];
        var tilde = s.IndexOf('~');
        var wait = tilde < 0 ? 0 : int.Parse(s[(tilde + 1)..]);
        s = tilde < 0 ? s : s[..tilde];
        var (id, sizes) = (s.Split(':')[0], s.Split(':')[1].Split('/'));
        var workers = int.Parse(sizes[0]);
        return new QueuedRun(id, T0.AddSeconds(i), device, workers, sizes.Length > 1 ? int.Parse(sizes[1]) : workers, TimeSpan.FromSeconds(wait));
    }).ToList();

    static Dictionary<string, int> Kinds(string spec, IEnumerable<FreeSlot> free) => spec == ""
        ? free.GroupBy(s => DeviceKinds.Of(s.Device)).ToDictionary(g => g.Key, g => g.Count())
        : spec.Split(' ').ToDictionary(k => k.Split('=')[0], k => int.Parse(k.Split('=')[1]));

    static string Text(IEnumerable<Assignment> assignments) =>
        string.Join(" | ", assignments.Select(a => $"{a.RunId}={string.Join(",", a.Slots.Select(s => s.Id))}"));

    /// <summary>The registry's placement as it was written before (its queue loop and the slot table's pick), over plain lists.</summary>
    static class Previous
    {
        public static PlacementResult Place(IReadOnlyList<QueuedRun> queue, IReadOnlyList<FreeSlot> slots, IReadOnlyDictionary<string, int> total,
            DateTimeOffset now)
        {
            var free = slots.ToList();
            var assignments = new List<Assignment>();
            var waits = new List<PlacementWait>();
            var heldKinds = new HashSet<string>();
            foreach (var run in queue)
            {
                var kind = DeviceKinds.Of(run.Device);
                if (heldKinds.Contains(kind))
                    continue;
                var candidates = Free(free, run.Device, run.Workers > 1);
                int count;
                if (candidates.Count >= run.Workers)
                    count = run.Workers;
                else if (candidates.Count >= run.MinWorkers && candidates.Count > 0 && now >= run.WaitEnds)
                    count = candidates.Count;
                else
                {
                    if (total.GetValueOrDefault(kind) >= run.MinWorkers)
                        heldKinds.Add(kind);
                    if (candidates.Count >= run.MinWorkers && candidates.Count > 0)
                        waits.Add(new PlacementWait(run.RunId, run.WaitEnds));
                    continue;
                }
                var picked = new List<FreeSlot>();
                while (picked.Count < count && candidates.Count > 0)
                {
                    var freeByNode = candidates.GroupBy(s => s.Node).ToDictionary(g => g.Key, g => g.Count());
                    var next = candidates
                        .OrderBy(s => picked.Count(p => p.Node == s.Node))
                        .ThenByDescending(s => freeByNode[s.Node])
                        .ThenBy(s => s.Node, StringComparer.Ordinal)
                        .ThenBy(s => s.Index)
                        .First();
                    picked.Add(next);
                    candidates.Remove(next);
                }
                free.RemoveAll(picked.Contains);
                assignments.Add(new Assignment(run.RunId, picked));
            }
            return new PlacementResult(assignments, waits);
        }

        static List<FreeSlot> Free(List<FreeSlot> free, string device, bool dataParallel) =>
            free.Where(s => DeviceKinds.CanRun(s.Device, device) && (!dataParallel || s.DataParallel)).ToList();
    }
}
