using System.Net;
using System.Security.Cryptography;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// One rank's view of a ring: its own rank, how many ranks there are, every rank's data endpoint (index = rank),
/// and the run token every connection must present. The coordinator hands out the same peers and token to all.
/// </summary>
public sealed class RingMembership
{
    /// <summary>Shortest accepted token: below this a stray process could guess it.</summary>
    public const int MinTokenBytes = 16;

    /// <summary>Longest accepted token; keeps the handshake small and bounded for the side that reads it.</summary>
    public const int MaxTokenBytes = 1024;

    private readonly byte[] _token;

    /// <exception cref="ArgumentException">Rank out of range, peers not one per rank, or token length out of range.</exception>
    public RingMembership(int rank, int worldSize, IReadOnlyList<IPEndPoint> peers, byte[] token)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Rank must be in 0..{worldSize - 1} for a world of {worldSize}.");
        if (peers.Count != worldSize)
            throw new ArgumentException($"Expected one endpoint per rank ({worldSize}), got {peers.Count}.", nameof(peers));
        for (var i = 0; i < peers.Count; i++)
            if (peers[i] is null)
                throw new ArgumentException($"The endpoint of rank {i} is missing.", nameof(peers));
        if (token.Length is < MinTokenBytes or > MaxTokenBytes)
            throw new ArgumentException($"The run token must be {MinTokenBytes}..{MaxTokenBytes} bytes, got {token.Length}; use RingMembership.NewToken().", nameof(token));

        Rank = rank;
        WorldSize = worldSize;
        Peers = peers.ToArray();
        // A private copy: a caller reusing its array must not change what this ring authenticates with.
        _token = token.ToArray();
    }

    public int Rank { get; }
    public int WorldSize { get; }
    public IReadOnlyList<IPEndPoint> Peers { get; }
    public ReadOnlySpan<byte> Token => _token;

    /// <summary>The rank this one sends to.</summary>
    public int Successor => (Rank + 1) % WorldSize;

    /// <summary>The rank this one receives from.</summary>
    public int Predecessor => (Rank + WorldSize - 1) % WorldSize;

    /// <summary>A fresh run token for the coordinator to hand to every rank of one ring.</summary>
    public static byte[] NewToken() => RandomNumberGenerator.GetBytes(32);
}
