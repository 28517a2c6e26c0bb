using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace TrainManager.Distributed;

/// <summary>The accepting rank's answer to a hello.</summary>
internal enum RingVerdict : byte
{
    Accepted = 0,
    NotARingPeer = 1,
    TokenMismatch = 2,
    WorldSizeMismatch = 3,
    UnexpectedSender = 4,
    WrongReceiver = 5,
}

/// <summary>
/// The first bytes on every ring connection. The connecting rank sends a hello (magic, version, world size, its rank,
/// the rank it means to reach, the run token); the accepting rank checks all of them and answers with a verdict.
/// The token keeps a stale worker of an earlier run, or anything else that finds the port, out of this run's
/// gradients; it is not confidentiality (tensors travel in the clear).
/// </summary>
internal static class RingHello
{
    public const int HeaderBytes = 20; // magic 4, version 2, token length 2, world 4, sender 4, receiver 4
    public const int ReplyBytes = 13; // magic 4, verdict 1, rank 4, world 4
    private const uint Magic = 0x474E5254; // "TRNG" on the wire
    private const ushort Version = 1;

    /// <summary>What the connecting rank sends: who it is, whom it means to reach, and the run token.</summary>
    public static byte[] Encode(RingMembership membership)
    {
        var token = membership.Token;
        var hello = new byte[HeaderBytes + token.Length];
        var span = hello.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)token.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], membership.WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], membership.Successor);
        token.CopyTo(span[HeaderBytes..]);
        return hello;
    }

    /// <summary>The length of the token that follows the header, or null when the header is not a hello of this
    /// version or announces a token no ring uses (nothing more is read from such a peer).</summary>
    public static int? TokenLength(ReadOnlySpan<byte> header)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(header[4..]) != Version)
            return null;
        int length = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        return length is < RingMembership.MinTokenBytes or > RingMembership.MaxTokenBytes ? null : length;
    }

    public static RingVerdict Judge(ReadOnlySpan<byte> header, ReadOnlySpan<byte> token, RingMembership membership)
    {
        // Constant time, so the answer's timing tells a guesser nothing about how much of the token was right.
        if (!CryptographicOperations.FixedTimeEquals(token, membership.Token))
            return RingVerdict.TokenMismatch;
        if (BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != membership.WorldSize)
            return RingVerdict.WorldSizeMismatch;
        if (BinaryPrimitives.ReadInt32LittleEndian(header[16..]) != membership.Rank)
            return RingVerdict.WrongReceiver;
        if (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != membership.Predecessor)
            return RingVerdict.UnexpectedSender;
        return RingVerdict.Accepted;
    }

    public static byte[] Reply(RingVerdict verdict, RingMembership membership)
    {
        var reply = new byte[ReplyBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(reply, Magic);
        reply[4] = (byte)verdict;
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(5), membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(9), membership.WorldSize);
        return reply;
    }

    public static void CheckReply(byte[] reply, RingMembership membership, IPEndPoint endPoint)
    {
        var successor = membership.Successor;
        if (BinaryPrimitives.ReadUInt32LittleEndian(reply) != Magic)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} answered, but not as a ring member; is the address of rank {successor} right?");
        var verdict = (RingVerdict)reply[4];
        if (verdict != RingVerdict.Accepted)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} (expected rank {successor}) refused the connection: {Describe(verdict)}.");
        var rank = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(5));
        var world = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(9));
        if (rank != successor || world != membership.WorldSize)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} is rank {rank} of {world}, expected rank {successor} of {membership.WorldSize}.");
    }

    public static string Describe(RingVerdict verdict) => verdict switch
    {
        RingVerdict.NotARingPeer => "the hello is not a ring handshake of this version",
        RingVerdict.TokenMismatch => "run token mismatch (a peer from another run?)",
        RingVerdict.WorldSizeMismatch => "world size mismatch",
        RingVerdict.UnexpectedSender => "the sender is not this rank's predecessor",
        RingVerdict.WrongReceiver => "the sender meant to reach a different rank",
        _ => $"unknown verdict {(byte)verdict}",
    };
}
