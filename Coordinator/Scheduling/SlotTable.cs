using Akka.Actor;
using TrainManager.Coordinator.Experiments;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Scheduling;

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

    /// <summary>How many free slots could run <paramref name="device"/> (only those with a data endpoint when
    /// <paramref name="dataParallel"/>: the ranks of a data-parallel run must reach each other).</summary>
    public int FreeFor(string device, bool dataParallel = false) => Free(device, dataParallel).Count();

    /// <summary>
    /// Up to <paramref name="count"/> free slots for <paramref name="device"/>: each on a node this pick has used least,
    /// then on the node with the most free slots left (ties: the lowest address), so work spreads over nodes before it
    /// doubles up on one: runs on one node share its cores and memory bandwidth, and so do the ranks of one run.
    /// </summary>
    public IReadOnlyList<Slot> PickFor(string device, int count, bool dataParallel = false)
    {
        var free = Free(device, dataParallel).ToList();
        var picked = new List<Slot>();
        while (picked.Count < count && free.Count > 0)
        {
            var freeByNode = free.GroupBy(s => s.Address.Node).ToDictionary(g => g.Key, g => g.Count());
            var next = free
                .OrderBy(s => picked.Count(p => p.Address.Node == s.Address.Node))
                .ThenByDescending(s => freeByNode[s.Address.Node])
                .ThenBy(s => s.Address.Node, StringComparer.Ordinal)
                .ThenBy(s => s.Address.Index)
                .First();
            picked.Add(next);
            free.Remove(next);
        }
        return picked;
    }

    IEnumerable<Slot> Free(string device, bool dataParallel) =>
        _slots.Values.Where(s => s.IsFree && DeviceKinds.CanRun(s.Address.Device, device) && (!dataParallel || s.Address.DataEndpoint is not null));
}
