namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// A peer was lost while a collective was running: its connection closed or reset, or it made no progress within
/// <see cref="RingOptions.OperationTimeout"/>, or it disagreed on which collective was due. The ring closes its
/// connections when this is thrown, so the failure reaches every rank within milliseconds; the ring cannot be used
/// again and a new one must be formed.
/// </summary>
public sealed class RingBrokenException(int rank, int peerRank, string operation, string reason, Exception? inner = null)
    : Exception($"Rank {rank} lost rank {peerRank} during {operation}: {reason}. The ring is closed; form a new one.", inner)
{
    /// <summary>The rank that threw.</summary>
    public int Rank { get; } = rank;

    /// <summary>The neighbour whose connection failed; with cascading failures this is the nearest broken link,
    /// not necessarily the rank that died first (the cluster membership knows that one).</summary>
    public int PeerRank { get; } = peerRank;

    /// <summary>The collective and the step of it, e.g. "all-reduce #3 (reduce-scatter step 2 of 3)".</summary>
    public string Operation { get; } = operation;
}

/// <summary>A connection between two ranks was refused in the handshake: a different run token, world size or
/// rank, or something that is not a ring member on the other end.</summary>
public sealed class RingHandshakeException(string message, Exception? inner = null) : Exception(message, inner);
