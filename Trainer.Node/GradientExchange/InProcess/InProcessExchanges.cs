using System.Collections.Concurrent;

namespace TrainManager.Node.GradientExchange.InProcess;

/// <summary>
/// Where the ranks of a run that are all in this process meet to form their <see cref="InProcessExchange"/>, and which
/// advertised data endpoints are this process's own (so that <c>data-parallel.transport = auto</c> can tell that every
/// rank is here). One per node; its slots register their endpoints when they are offered.
/// </summary>
public sealed class InProcessExchanges
{
    private readonly ConcurrentDictionary<string, byte> _localEndpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Forming> _forming = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="endpoint"/>, as a slot of this process advertises it, is in this process.</summary>
    public void AddLocalEndpoint(string endpoint) => _localEndpoints.TryAdd(endpoint, 0);

    /// <summary>The ranks (indices into <paramref name="endpoints"/>) whose endpoint is not one of this process's.</summary>
    public IReadOnlyList<int> RanksElsewhere(IReadOnlyList<string> endpoints) =>
        Enumerable.Range(0, endpoints.Count).Where(rank => !_localEndpoints.ContainsKey(endpoints[rank])).ToList();

    /// <summary>
    /// Joins the group named <paramref name="key"/> (the run's fresh token for this attempt, so a rank of an earlier
    /// attempt can never join) as <paramref name="rank"/>, and returns once all <paramref name="worldSize"/> ranks have.
    /// </summary>
    /// <exception cref="InProcessExchangeBrokenException">Not every rank joined within
    /// <see cref="InProcessOptions.ConnectTimeout"/>, or one gave up.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired first.</exception>
    public InProcessExchange Join(string key, int rank, int worldSize, InProcessOptions options, CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        var forming = _forming.GetOrAdd(key, _ => new Forming(new InProcessGroup(key, worldSize)));
        var group = forming.Group;
        if (group.WorldSize != worldSize)
            throw new InvalidOperationException(
                $"Rank {rank} joins in-process exchange with a world size of {worldSize}, but its other ranks have {group.WorldSize}: every rank must be given the same assignment.");
        try
        {
            group.Arrive(rank, new InProcessStep("forming", 0, 0, 0, 0, "join"), options.ConnectTimeout, cancel);
        }
        catch
        {
            _forming.TryRemove(new KeyValuePair<string, Forming>(key, forming)); // broken for every rank: nobody else may join it
            throw;
        }
        // Formed: the last rank to leave the meeting place removes it.
        if (Interlocked.Increment(ref forming.Left) == worldSize)
            _forming.TryRemove(new KeyValuePair<string, Forming>(key, forming));
        return new InProcessExchange(group, rank, options);
    }

    private sealed class Forming(InProcessGroup group)
    {
        public InProcessGroup Group { get; } = group;
        public int Left;
    }
}
