using Akka.Actor;
using TrainManager.Coordinator.Cluster.Experiments;
using TrainManager.Coordinator.Cluster.Protocol;

namespace TrainManager.Coordinator.Cluster.Scheduling;

/// <summary>
/// The worker slots the scheduler knows and what each runs. Live facts only, never journaled: a restarted scheduler
/// rebuilds it from the nodes' <see cref="RegisterSlots"/>.
/// </summary>
public sealed class SlotTable
{
    public sealed class Slot(IActorRef actor, SlotAddress address)
    {
        public IActorRef Actor { get; } = actor;
        public SlotAddress Address { get; } = address;
        public string? RunId { get; set; }
        public bool IsFree => RunId is null;
    }

    readonly Dictionary<IActorRef, Slot> _slots = [];

    public int Count => _slots.Count;
    public int FreeCount => _slots.Values.Count(s => s.IsFree);
    public IEnumerable<Slot> All => _slots.Values;

    public Slot? Find(IActorRef actor) => _slots.GetValueOrDefault(actor);

    public Slot? Running(string runId) => _slots.Values.FirstOrDefault(s => s.RunId == runId);

    /// <summary>Adds a slot; false when it was known already.</summary>
    public bool Add(IActorRef actor, SlotAddress address)
    {
        if (_slots.ContainsKey(actor))
            return false;
        _slots[actor] = new Slot(actor, address);
        return true;
    }

    public Slot? Remove(IActorRef actor) => _slots.Remove(actor, out var slot) ? slot : null;

    /// <summary>How many slots could run <paramref name="device"/>, busy or free.</summary>
    public int Matching(string device) => _slots.Values.Count(s => DeviceKinds.CanRun(s.Address.Device, device));

    /// <summary>
    /// A free slot for <paramref name="device"/>, on the node with the most free slots (ties: the lowest address), so
    /// work spreads over nodes before it doubles up on one: runs on one node share its cores and memory bandwidth.
    /// </summary>
    public Slot? PickFor(string device)
    {
        var free = _slots.Values.Where(s => s.IsFree && DeviceKinds.CanRun(s.Address.Device, device)).ToList();
        if (free.Count == 0)
            return null;
        var freeByNode = free.GroupBy(s => s.Address.Node).ToDictionary(g => g.Key, g => g.Count());
        return free
            .OrderByDescending(s => freeByNode[s.Address.Node])
            .ThenBy(s => s.Address.Node, StringComparer.Ordinal)
            .ThenBy(s => s.Address.Index)
            .First();
    }
}
