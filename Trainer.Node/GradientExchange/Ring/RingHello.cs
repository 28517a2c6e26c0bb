using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>The accepting rank's answer to the connecting rank's claims, once both have proven the run token.</summary>
internal enum RingVerdict : byte
{
    Accepted = 0,
    WorldSizeMismatch = 3,
    UnexpectedSender = 4,
    WrongReceiver = 5,
    AlreadyConnected = 6,
}

/// <summary>
/// The messages of a ring handshake, in the order they cross the connection:
/// <list type="number">
/// <item>challenge, accepting side: magic, version and a fresh nonce; nothing about the run;</item>
/// <item>proof, connecting side: magic, version, its own fresh nonce and HMAC-SHA256(token, both nonces);</item>
/// <item>counter-proof, accepting side, only if the proof was right: HMAC-SHA256(token, both nonces) under another label;</item>
/// <item>claims, connecting side, only if the counter-proof was right: world size, its rank, the rank it means to reach;</item>
/// <item>verdict, accepting side: accepted or why not, with its own rank and world size.</item>
/// </list>
/// The token itself never crosses the wire, a proof cannot be replayed (the other side's nonce is fresh) nor reflected
/// (each side has its own label), and neither side tells the other anything about the run before the other has
/// proven the token: a stranger that finds the port learns a nonce and sees the connection close. The token keeps
/// stale workers of earlier runs and anything else out of this run's gradients; it is not confidentiality or
/// integrity of the stream (tensors travel in the clear).
/// </summary>
internal static class RingHello
{
    public const int NonceBytes = 32;
    public const int MacBytes = 32; // HMAC-SHA256
    public const int ChallengeBytes = PreambleBytes + NonceBytes;
    public const int ProofBytes = PreambleBytes + NonceBytes + MacBytes;
    public const int CounterProofBytes = MacBytes;
    public const int ClaimsBytes = 12; // world 4, sender 4, receiver 4
    public const int VerdictBytes = 9; // verdict 1, rank 4, world 4
    private const int PreambleBytes = 6; // magic 4, version 2
    private const uint Magic = 0x474E5254; // "TRNG" on the wire
    private const ushort Version = 2;
    private static readonly byte[] ConnectorLabel = Encoding.ASCII.GetBytes("TRNG v2 connector proof");
    private static readonly byte[] ListenerLabel = Encoding.ASCII.GetBytes("TRNG v2 listener proof");

    /// <summary>What the accepting side sends first: the magic, the version and <paramref name="nonce"/>.</summary>
    public static byte[] Challenge(ReadOnlySpan<byte> nonce)
    {
        var challenge = new byte[ChallengeBytes];
        WritePreamble(challenge);
        nonce.CopyTo(challenge.AsSpan(PreambleBytes));
        return challenge;
    }

    /// <summary>The listener's nonce in a challenge, or null when it is not a challenge of this version.</summary>
    public static ReadOnlyMemory<byte>? ListenerNonce(ReadOnlyMemory<byte> challenge) =>
        HasPreamble(challenge.Span) ? challenge[PreambleBytes..] : null;

    /// <summary>The connecting side's answer to a challenge: its own nonce and the proof that it holds the token.</summary>
    public static byte[] Proof(ReadOnlySpan<byte> token, ReadOnlySpan<byte> listenerNonce, ReadOnlySpan<byte> connectorNonce)
    {
        var proof = new byte[ProofBytes];
        WritePreamble(proof);
        connectorNonce.CopyTo(proof.AsSpan(PreambleBytes));
        Mac(ConnectorLabel, token, listenerNonce, connectorNonce, proof.AsSpan(PreambleBytes + NonceBytes));
        return proof;
    }

    /// <summary>The connecting side's nonce in a proof.</summary>
    public static ReadOnlySpan<byte> ConnectorNonce(ReadOnlySpan<byte> proof) => proof.Slice(PreambleBytes, NonceBytes);

    /// <summary>Whether <paramref name="proof"/> answers the challenge with <paramref name="listenerNonce"/> and this
    /// run's token.</summary>
    public static ProofCheck CheckProof(ReadOnlySpan<byte> proof, ReadOnlySpan<byte> token, ReadOnlySpan<byte> listenerNonce)
    {
        var connectorNonce = ConnectorNonce(proof);
        if (!HasPreamble(proof))
            return ProofCheck.NotARingPeer;
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(ConnectorLabel, token, listenerNonce, connectorNonce, expected);
        // Constant time, so the timing of the close tells a guesser nothing about how much of the proof was right.
        return CryptographicOperations.FixedTimeEquals(proof[(PreambleBytes + NonceBytes)..], expected)
            ? ProofCheck.Proven
            : ProofCheck.TokenMismatch;
    }

    /// <summary>The accepting side's proof that it holds the token too, sent only to a connector that proved it.</summary>
    public static byte[] CounterProof(ReadOnlySpan<byte> token, ReadOnlySpan<byte> listenerNonce, ReadOnlySpan<byte> connectorNonce)
    {
        var counterProof = new byte[CounterProofBytes];
        Mac(ListenerLabel, token, listenerNonce, connectorNonce, counterProof);
        return counterProof;
    }

    public static bool CheckCounterProof(ReadOnlySpan<byte> counterProof, ReadOnlySpan<byte> token, ReadOnlySpan<byte> listenerNonce,
        ReadOnlySpan<byte> connectorNonce)
    {
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(ListenerLabel, token, listenerNonce, connectorNonce, expected);
        return CryptographicOperations.FixedTimeEquals(counterProof, expected);
    }

    /// <summary>What the connecting rank claims, once the accepting side proved the token: who it is and whom it means to reach.</summary>
    public static byte[] Claims(RingMembership membership)
    {
        var claims = new byte[ClaimsBytes];
        BinaryPrimitives.WriteInt32LittleEndian(claims, membership.WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(claims.AsSpan(4), membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(claims.AsSpan(8), membership.Successor);
        return claims;
    }

    public static RingVerdict Judge(ReadOnlySpan<byte> claims, RingMembership membership)
    {
        if (BinaryPrimitives.ReadInt32LittleEndian(claims) != membership.WorldSize)
            return RingVerdict.WorldSizeMismatch;
        if (BinaryPrimitives.ReadInt32LittleEndian(claims[8..]) != membership.Rank)
            return RingVerdict.WrongReceiver;
        if (BinaryPrimitives.ReadInt32LittleEndian(claims[4..]) != membership.Predecessor)
            return RingVerdict.UnexpectedSender;
        return RingVerdict.Accepted;
    }

    public static byte[] Verdict(RingVerdict verdict, RingMembership membership)
    {
        var reply = new byte[VerdictBytes];
        reply[0] = (byte)verdict;
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(1), membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(5), membership.WorldSize);
        return reply;
    }

    public static void CheckVerdict(byte[] reply, RingMembership membership, IPEndPoint endPoint)
    {
        var successor = membership.Successor;
        var verdict = (RingVerdict)reply[0];
        if (verdict != RingVerdict.Accepted)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} (expected rank {successor}) refused the connection: {Describe(verdict)}.");
        var rank = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(1));
        var world = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(5));
        if (rank != successor || world != membership.WorldSize)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} is rank {rank} of {world}, expected rank {successor} of {membership.WorldSize}.");
    }

    public static string Describe(RingVerdict verdict) => verdict switch
    {
        RingVerdict.WorldSizeMismatch => "world size mismatch",
        RingVerdict.UnexpectedSender => "the sender is not this rank's predecessor",
        RingVerdict.WrongReceiver => "the sender meant to reach a different rank",
        RingVerdict.AlreadyConnected => "the predecessor is already connected",
        _ => $"unknown verdict {(byte)verdict}",
    };

    public static string Describe(ProofCheck check) => check switch
    {
        ProofCheck.NotARingPeer => "not a ring handshake of this version",
        ProofCheck.TokenMismatch => "run token mismatch (a peer from another run?)",
        _ => check.ToString(),
    };

    private static void WritePreamble(Span<byte> message)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(message, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(message[4..], Version);
    }

    private static bool HasPreamble(ReadOnlySpan<byte> message) =>
        BinaryPrimitives.ReadUInt32LittleEndian(message) == Magic && BinaryPrimitives.ReadUInt16LittleEndian(message[4..]) == Version;

    private static void Mac(byte[] label, ReadOnlySpan<byte> token, ReadOnlySpan<byte> listenerNonce, ReadOnlySpan<byte> connectorNonce,
        Span<byte> destination)
    {
        Span<byte> message = stackalloc byte[label.Length + 2 * NonceBytes];
        label.CopyTo(message);
        listenerNonce.CopyTo(message[label.Length..]);
        connectorNonce.CopyTo(message[(label.Length + NonceBytes)..]);
        HMACSHA256.HashData(token, message, destination);
    }
}

/// <summary>What the accepting side made of a connector's proof.</summary>
internal enum ProofCheck
{
    Proven,
    NotARingPeer,
    TokenMismatch,
}
