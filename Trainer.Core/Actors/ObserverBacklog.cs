using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>
/// Counts the calls handed to an observer and not yet handled, and applies its <see cref="BacklogPolicy"/>
/// when the count reaches the bound: wait for the observer (lose nothing) or drop the newest call.
/// </summary>
public sealed class ObserverBacklog(BacklogPolicy policy)
{
    private readonly SemaphoreSlim _slots = new(policy.Capacity, policy.Capacity);
    private long _dropped;

    public BacklogPolicy Policy { get; } = policy;
    public long Dropped => Interlocked.Read(ref _dropped);
    public int Pending => Policy.Capacity - _slots.CurrentCount;

    /// <summary>Takes a slot for a new call; false when the call must be dropped.</summary>
    public bool TryEnter()
    {
        if (_slots.Wait(0)) return true;
        if (Policy.WhenFull == BacklogOverflow.DropNewest)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        _slots.Wait();
        return true;
    }

    public void Done() => _slots.Release();
}
