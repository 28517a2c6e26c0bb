using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TrainManager.Distributed;

/// <summary>
/// The first bytes on every ring connection. The connecting rank sends a hello (magic, version, world size, its rank,
/// the rank it means to reach, the run token); the accepting rank checks all of them and answers with a verdict.
/// The token keeps a stale worker of an earlier run, or anything else that finds the port, out of this run's
/// gradients; it is not confidentiality (tensors travel in the clear).
/// </summary>
internal static class RingHandshake
{
    private const uint Magic = 0x474E5254; // "TRNG" on the wire
    private const ushort Version = 1;
    private const int HelloHeaderBytes = 20; // magic 4, version 2, token length 2, world 4, sender 4, receiver 4
    private const int ReplyBytes = 13; // magic 4, verdict 1, rank 4, world 4

    private enum Verdict : byte
    {
        Accepted = 0,
        NotARingPeer = 1,
        TokenMismatch = 2,
        WorldSizeMismatch = 3,
        UnexpectedSender = 4,
        WrongReceiver = 5,
    }

    /// <summary>Connects to the successor, retrying while it is not listening yet, and completes the handshake.</summary>
    /// <exception cref="RingHandshakeException">The successor refused this rank, or is not a ring member.</exception>
    /// <exception cref="TimeoutException"><paramref name="deadline"/> passed first.</exception>
    public static async Task<Socket> ConnectToSuccessorAsync(RingMembership membership, RingOptions options,
        CancellationToken abort, CancellationToken deadline)
    {
        var endPoint = membership.Peers[membership.Successor];
        var socket = await ConnectWithRetriesAsync(membership, endPoint, options, abort, deadline);
        try
        {
            await SendAllAsync(socket, Hello(membership), abort);
            var reply = new byte[ReplyBytes];
            await ReceiveExactlyAsync(socket, reply, abort);
            CheckReply(reply, membership, endPoint);
            return socket;
        }
        catch (Exception e) when (e is EndOfStreamException or SocketException)
        {
            socket.Dispose();
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} (rank {membership.Successor}) closed the connection during the handshake; " +
                "it may have failed to form its own side of the ring, or be something other than this run's rank.", e);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException(
                $"Rank {membership.Rank}: its successor rank {membership.Successor} at {endPoint} did not answer the handshake in time.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects, retrying while the successor is not listening yet or restarting, until the deadline.</summary>
    private static async Task<Socket> ConnectWithRetriesAsync(RingMembership membership, IPEndPoint endPoint, RingOptions options,
        CancellationToken abort, CancellationToken deadline)
    {
        var retryDelay = TimeSpan.FromMilliseconds(20);
        SocketError? lastError = null;
        try
        {
            while (true)
            {
                var socket = RingSockets.Create(endPoint.AddressFamily, options);
                try
                {
                    await socket.ConnectAsync(endPoint, abort);
                    return socket;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.TimedOut
                                                     or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
                {
                    socket.Dispose();
                    lastError = e.SocketErrorCode;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                await Task.Delay(retryDelay, abort);
                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Rank {membership.Rank} could not connect to its successor rank {membership.Successor} at {endPoint} in time" +
                (lastError is null ? "." : $": {lastError}."));
        }
    }

    /// <summary>Accepts connections until the predecessor presents a valid hello; every other one is answered with
    /// its verdict, closed and remembered for the timeout message.</summary>
    /// <exception cref="TimeoutException"><paramref name="deadline"/> passed first; names the refused connections.</exception>
    public static async Task<Socket> AcceptPredecessorAsync(Socket listener, RingMembership membership, RingOptions options,
        CancellationToken abort, CancellationToken deadline)
    {
        var refused = new List<string>();
        while (true)
        {
            Socket candidate;
            try
            {
                candidate = await listener.AcceptAsync(abort);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"Rank {membership.Rank} waited in vain for its predecessor rank {membership.Predecessor} to connect to " +
                    $"{(IPEndPoint)listener.LocalEndPoint!}. Refused: {(refused.Count == 0 ? "none" : string.Join("; ", refused))}.");
            }

            var remote = candidate.RemoteEndPoint?.ToString() ?? "unknown";
            try
            {
                // A silent candidate (a port scanner, a half-open stale worker) may hold the line only so long.
                using var perCandidate = CancellationTokenSource.CreateLinkedTokenSource(abort);
                perCandidate.CancelAfter(options.OperationTimeout);
                var verdict = await ReadHelloAsync(candidate, membership, perCandidate.Token);
                await SendAllAsync(candidate, Reply(verdict, membership), perCandidate.Token);
                if (verdict == Verdict.Accepted)
                {
                    RingSockets.Tune(candidate, options);
                    return candidate;
                }
                refused.Add($"{remote} ({Describe(verdict)})");
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException
                                          || (e is OperationCanceledException && !abort.IsCancellationRequested))
            {
                refused.Add($"{remote} ({(e is OperationCanceledException ? "sent no hello in time" : e.Message)})");
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                candidate.Dispose();
                throw new TimeoutException(
                    $"Rank {membership.Rank}: the handshake with {remote} did not finish before the connect timeout.");
            }
            catch
            {
                candidate.Dispose();
                throw;
            }
            candidate.Dispose();
        }
    }

    private static byte[] Hello(RingMembership membership)
    {
        var token = membership.Token;
        var hello = new byte[HelloHeaderBytes + token.Length];
        var span = hello.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)token.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], membership.WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], membership.Successor);
        token.CopyTo(span[HelloHeaderBytes..]);
        return hello;
    }

    private static async Task<Verdict> ReadHelloAsync(Socket socket, RingMembership membership, CancellationToken cancel)
    {
        var header = new byte[HelloHeaderBytes];
        await ReceiveExactlyAsync(socket, header, cancel);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(4)) != Version)
            return Verdict.NotARingPeer;
        int tokenLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(6));
        if (tokenLength is < RingMembership.MinTokenBytes or > RingMembership.MaxTokenBytes)
            return Verdict.TokenMismatch;
        var token = new byte[tokenLength];
        await ReceiveExactlyAsync(socket, token, cancel);

        // Constant time, so the answer's timing tells a guesser nothing about how much of the token was right.
        if (!CryptographicOperations.FixedTimeEquals(token, membership.Token))
            return Verdict.TokenMismatch;
        if (BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8)) != membership.WorldSize)
            return Verdict.WorldSizeMismatch;
        if (BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16)) != membership.Rank)
            return Verdict.WrongReceiver;
        if (BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12)) != membership.Predecessor)
            return Verdict.UnexpectedSender;
        return Verdict.Accepted;
    }

    private static byte[] Reply(Verdict verdict, RingMembership membership)
    {
        var reply = new byte[ReplyBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(reply, Magic);
        reply[4] = (byte)verdict;
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(5), membership.Rank);
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(9), membership.WorldSize);
        return reply;
    }

    private static void CheckReply(byte[] reply, RingMembership membership, IPEndPoint endPoint)
    {
        var successor = membership.Successor;
        if (BinaryPrimitives.ReadUInt32LittleEndian(reply) != Magic)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} answered, but not as a ring member; is the address of rank {successor} right?");
        var verdict = (Verdict)reply[4];
        if (verdict != Verdict.Accepted)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} (expected rank {successor}) refused the connection: {Describe(verdict)}.");
        var rank = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(5));
        var world = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(9));
        if (rank != successor || world != membership.WorldSize)
            throw new RingHandshakeException(
                $"Rank {membership.Rank}: {endPoint} is rank {rank} of {world}, expected rank {successor} of {membership.WorldSize}.");
    }

    private static string Describe(Verdict verdict) => verdict switch
    {
        Verdict.NotARingPeer => "the hello is not a ring handshake of this version",
        Verdict.TokenMismatch => "run token mismatch (a peer from another run?)",
        Verdict.WorldSizeMismatch => "world size mismatch",
        Verdict.UnexpectedSender => "the sender is not this rank's predecessor",
        Verdict.WrongReceiver => "the sender meant to reach a different rank",
        _ => $"unknown verdict {(byte)verdict}",
    };

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> buffer, CancellationToken cancel)
    {
        while (!buffer.IsEmpty)
            buffer = buffer[await socket.SendAsync(buffer, SocketFlags.None, cancel)..];
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancel)
    {
        while (!buffer.IsEmpty)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel);
            if (n == 0)
                throw new EndOfStreamException("the connection closed during the handshake");
            buffer = buffer[n..];
        }
    }
}
