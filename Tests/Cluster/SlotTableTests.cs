using Akka.Actor;
using TrainManager.Protocol;
using TrainManager.Coordinator.Scheduling;

namespace TrainManager.Tests.Cluster;

public sealed class SlotTableTests : Akka.TestKit.Xunit2.TestKit
{
    SlotTable Table(params (string Node, int Index, string Device, string? Endpoint)[] slots)
    {
        var table = new SlotTable();
        foreach (var (node, index, device, endpoint) in slots)
            table.Add(CreateTestProbe().Ref, new SlotAddress(node, index, device, endpoint));
        return table;
    }

    [Fact]
    public void The_ranks_of_a_run_are_spread_over_the_nodes_before_two_share_one()
    {
        var table = Table(("a", 0, "cpu", "a:1"), ("a", 1, "cpu", "a:2"), ("b", 0, "cpu", "b:1"), ("b", 1, "cpu", "b:2"), ("c", 0, "cpu", "c:1"));

        var three = table.PickFor("cpu", 3, dataParallel: true);
        Assert.Equal(["a", "b", "c"], three.Select(s => s.Address.Node).Order());

        var five = table.PickFor("cpu", 5, dataParallel: true);
        Assert.Equal(5, five.Count);
        Assert.Equal(5, five.Distinct().Count());
    }

    [Fact]
    public void A_data_parallel_run_takes_only_slots_of_its_device_kind_that_have_a_data_endpoint()
    {
        var table = Table(("a", 0, "cpu", null), ("b", 0, "cpu", "b:1"), ("c", 0, "cuda:0", "c:1"), ("d", 0, "cpu", "d:1"));

        Assert.Equal(2, table.FreeFor("cpu", dataParallel: true));
        Assert.Equal(3, table.FreeFor("cpu"));
        Assert.Equal(["b", "d"], table.PickFor("cpu", 3, dataParallel: true).Select(s => s.Address.Node).Order());
        Assert.Equal("c", Assert.Single(table.PickFor("cuda", 2, dataParallel: true)).Address.Node);
    }

    [Fact]
    public void Busy_slots_are_not_picked()
    {
        var table = Table(("a", 0, "cpu", "a:1"), ("b", 0, "cpu", "b:1"));
        table.All.First(s => s.Address.Node == "a").RunId = "r1";

        Assert.Equal("b", Assert.Single(table.PickFor("cpu", 2, dataParallel: true)).Address.Node);
        Assert.Equal(1, table.FreeCount);
    }
}
