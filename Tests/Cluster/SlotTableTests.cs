using TrainManager.Protocol;
using TrainManager.Coordinator.Scheduling;

namespace TrainManager.Tests.Cluster;

/// <summary>The slot table keeps what placement reads (its free slots, the slots of each kind) as slots come, go and
/// are given runs. Which slots a run gets is <see cref="TrainManager.Coordinator.Scheduling.Decisions.Placement"/>'s.</summary>
public sealed class SlotTableTests : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public void Free_slots_are_those_without_a_run_and_each_has_its_own_id()
    {
        var table = new SlotTable();
        var a = CreateTestProbe().Ref;
        var b = CreateTestProbe().Ref;
        table.Add(a, new SlotAddress("a", 0, "cpu", "a:1"));
        table.Add(b, new SlotAddress("b", 0, "cpu", null));

        table.Find(a)!.RunId = "r1";

        var free = Assert.Single(table.FreeSlots);
        Assert.Equal(("b", 0, false), (free.Node, free.Index, free.DataParallel));
        Assert.Same(table.Find(b), table.FindById(free.Id));
        Assert.Equal(1, table.FreeCount);
        table.Find(a)!.RunId = null;
        Assert.Equal(2, table.FreeCount);
    }

    [Fact]
    public void Slots_of_each_kind_count_busy_and_free_and_forget_removed_ones()
    {
        var table = new SlotTable();
        var gpu = CreateTestProbe().Ref;
        table.Add(CreateTestProbe().Ref, new SlotAddress("a", 0, "cpu"));
        table.Add(gpu, new SlotAddress("a", 1, "cuda:0"));
        table.Add(CreateTestProbe().Ref, new SlotAddress("b", 0, "cuda:1"));
        table.Find(gpu)!.RunId = "r1";

        Assert.Equal(2, table.Matching("cuda"));
        Assert.Equal(1, table.SlotsOfKind["cpu"]);
        table.Remove(gpu);
        Assert.Equal(1, table.Matching("cuda:3"));
        Assert.Equal(2, table.FreeCount);
        Assert.False(table.Add(table.All.First().Actor, new SlotAddress("a", 0, "cpu")));
    }

    [Fact]
    public void A_removed_slot_freed_later_is_not_offered()
    {
        var table = new SlotTable();
        var gone = CreateTestProbe().Ref;
        table.Add(gone, new SlotAddress("a", 0, "cpu"));
        var slot = table.Find(gone)!;
        slot.RunId = "r1";

        table.Remove(gone);
        slot.RunId = null;

        Assert.Empty(table.FreeSlots);
        Assert.Equal(0, table.FreeCount);
    }
}
