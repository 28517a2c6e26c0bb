using System.Net;
using System.Net.Sockets;

namespace TrainManager.Distributed;

/// <summary>
/// Forms the two connections of a rank: the connecting side dials its successor and sends a <see cref="RingHello"/>,
/// the accepting side checks every hello that arrives and answers with its verdict.
/// </summary>
internal static class RingHandshake
{
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
            await SendAllAsync(socket, RingHello.Encode(membership), abort);
            var reply = new byte[RingHello.ReplyBytes];
            await ReceiveExactlyAsync(socket, reply, abort);
            RingHello.CheckReply(reply, membership, endPoint);
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
                await SendAllAsync(candidate, RingHello.Reply(verdict, membership), perCandidate.Token);
                if (verdict == RingVerdict.Accepted)
                {
                    RingSockets.Tune(candidate, options);
                    return candidate;
                }
                refused.Add($"{remote} ({RingHello.Describe(verdict)})");
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

    private static async Task<RingVerdict> ReadHelloAsync(Socket socket, RingMembership membership, CancellationToken cancel)
    {
        var header = new byte[RingHello.HeaderBytes];
        await ReceiveExactlyAsync(socket, header, cancel);
        if (RingHello.TokenLength(header) is not { } tokenLength)
            return RingVerdict.NotARingPeer;
        var token = new byte[tokenLength];
        await ReceiveExactlyAsync(socket, token, cancel);
        return RingHello.Judge(header, token, membership);
    }

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
