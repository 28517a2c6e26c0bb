using Akka.Actor;
using TrainManager.Coordinator.Experiments;
using TrainManager.Coordinator.Scheduling.Decisions;
using TrainManager.Protocol;

namespace TrainManager.Coordinator.Scheduling;

/// <summary>
/// The worker slots the scheduler knows and what each runs. Live facts only, never journaled: a restarted scheduler
/// rebuilds it from the nodes' <see cref="RegisterSlots"/>.
/// </summary>
public sealed class SlotTable
{
    public sealed class Slot(IActorRef actor, SlotAddress address, string id, HashSet<Slot> free)
    {
        string? _runId;

        public IActorRef Actor { get; } = actor;
        public SlotAddress Address { get; } = address;
        /// <summary>The slot as placement sees it (<see cref="FreeSlot.Id"/> names it in the table).</summary>
        public FreeSlot Placement { get; } = new(id, address.Node, address.Index, address.Device, address.DataEndpoint is not null);

        /// <summary>The run the slot is given; null: free. The table keeps its free slots apart, so a placement reads only those.</summary>
        public string? RunId
        {
            get => _runId;
            set
            {
                _runId = value;
                if (value is null && !Removed)
                    free.Add(this);
                else
                    free.Remove(this);
            }
        }

        /// <summary>It left the table: a run given or taken back now frees nothing a placement could use.</summary>
        internal bool Removed { get; set; }

        public bool IsFree => RunId is null;
    }

    readonly Dictionary<IActorRef, Slot> _slots = [];
    readonly Dictionary<string, Slot> _byId = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _ofKind = new(StringComparer.Ordinal);
    readonly HashSet<Slot> _free = [];
    long _added;

    public int Count => _slots.Count;
    public int FreeCount => _free.Count;
    public IEnumerable<Slot> All => _slots.Values;

    public Slot? Find(IActorRef actor) => _slots.GetValueOrDefault(actor);

    /// <summary>Adds a slot; false when it was known already.</summary>
    public bool Add(IActorRef actor, SlotAddress address)
    {
        if (_slots.ContainsKey(actor))
            return false;
        var slot = new Slot(actor, address, "slot-" + ++_added, _free);
        _slots[actor] = slot;
        _free.Add(slot);
        _byId[slot.Placement.Id] = slot;
        var kind = DeviceKinds.Of(address.Device);
        _ofKind[kind] = _ofKind.GetValueOrDefault(kind) + 1;
        return true;
    }

    public Slot? Remove(IActorRef actor)
    {
        if (!_slots.Remove(actor, out var slot))
            return null;
        _byId.Remove(slot.Placement.Id);
        _free.Remove(slot);
        slot.Removed = true;
        var kind = DeviceKinds.Of(slot.Address.Device);
        if (--_ofKind[kind] == 0)
            _ofKind.Remove(kind);
        return slot;
    }

    /// <summary>The slot a placement names (<see cref="FreeSlot.Id"/>).</summary>
    public Slot? FindById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Every free slot, as placement sees it.</summary>
    public IEnumerable<FreeSlot> FreeSlots => _free.Select(s => s.Placement);

    /// <summary>How many slots of each device kind there are, busy or free.</summary>
    public IReadOnlyDictionary<string, int> SlotsOfKind => _ofKind;

    /// <summary>How many slots could run <paramref name="device"/>, busy or free.</summary>
    public int Matching(string device) => _ofKind.GetValueOrDefault(DeviceKinds.Of(device));
}
