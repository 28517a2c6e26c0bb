using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// Forms the outgoing connection of a rank: it dials its successor and goes through the <see cref="RingHello"/>
/// handshake as the connecting side. The incoming one is <see cref="RingAcceptor"/>'s.
/// </summary>
internal static class RingHandshake
{
    /// <summary>Connects to the successor, retrying while it is not listening yet, and completes the handshake: it
    /// answers the successor's challenge with its proof of the run token, and tells the successor who it is only once
    /// the successor has proven the token too.</summary>
    /// <exception cref="RingHandshakeException">The successor refused this rank, or is not a ring member of this run.</exception>
    /// <exception cref="TimeoutException"><paramref name="deadline"/> passed first.</exception>
    public static async Task<Socket> ConnectToSuccessorAsync(RingMembership membership, RingOptions options,
        CancellationToken abort, CancellationToken deadline)
    {
        var endPoint = membership.Peers[membership.Successor];
        var socket = await ConnectWithRetriesAsync(membership, endPoint, options, abort, deadline);
        var stage = ConnectorStage.AwaitingChallenge;
        try
        {
            // No deadline of its own: the challenge comes when the successor starts forming its ring, which may be later.
            var challenge = new byte[RingHello.ChallengeBytes];
            await ReceiveExactlyAsync(socket, challenge, abort);
            if (RingHello.ListenerNonce(challenge) is not { } listenerNonce)
                throw new RingHandshakeException(
                    $"Rank {membership.Rank}: {endPoint} answered, but not as a ring member of this version; is the address of rank {membership.Successor} right?");
            var connectorNonce = RandomNumberGenerator.GetBytes(RingHello.NonceBytes);
            await SendAllAsync(socket, RingHello.Proof(membership.Token, listenerNonce.Span, connectorNonce), abort);

            stage = ConnectorStage.ProofSent;
            var counterProof = new byte[RingHello.CounterProofBytes];
            await ReceiveExactlyAsync(socket, counterProof, abort);
            if (!RingHello.CheckCounterProof(counterProof, membership.Token, listenerNonce.Span, connectorNonce))
                throw new RingHandshakeException(
                    $"Rank {membership.Rank}: {endPoint} (expected rank {membership.Successor}) could not prove this run's token: " +
                    "run token mismatch (a rank of another run?).");

            stage = ConnectorStage.ClaimsSent;
            await SendAllAsync(socket, RingHello.Claims(membership), abort);
            var verdict = new byte[RingHello.VerdictBytes];
            await ReceiveExactlyAsync(socket, verdict, abort);
            RingHello.CheckVerdict(verdict, membership, endPoint);
            return socket;
        }
        catch (Exception e) when (e is EndOfStreamException or SocketException)
        {
            socket.Dispose();
            throw new RingHandshakeException(stage == ConnectorStage.ProofSent
                ? $"Rank {membership.Rank}: {endPoint} (rank {membership.Successor}) closed the connection on this rank's proof of the run token: " +
                  "a run token mismatch (is it a rank of another run?), or it gave up forming its own side of the ring."
                : $"Rank {membership.Rank}: {endPoint} (rank {membership.Successor}) closed the connection during the handshake; " +
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

    private enum ConnectorStage
    {
        AwaitingChallenge,
        ProofSent,
        ClaimsSent,
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

    internal static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> buffer, CancellationToken cancel)
    {
        while (!buffer.IsEmpty)
            buffer = buffer[await socket.SendAsync(buffer, SocketFlags.None, cancel)..];
    }

    internal static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancel)
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
