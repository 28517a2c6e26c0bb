using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Tests.Distributed;

/// <summary>What a data endpoint does with connections that are not its predecessor: strangers, idle sockets,
/// garbage. The handshake's first message, the challenge, is "TRNG", version 2 and a 32-byte nonce.</summary>
[Collection(RingCollection.Name)]
public sealed class RingDataEndpointTests
{
    private const int ChallengeBytes = 4 + 2 + 32;
    private const int ProofBytes = 4 + 2 + 32 + 32;

    [Fact]
    public async Task ARingFormsPromptlyWhileIdleGarbageAndWrongTokenConnectionsHoldEveryEndpoint()
    {
        // Every stray connection below is queued before the ranks start accepting, so it is accepted first. One
        // handled at a time would hold the ring up for a whole hello timeout; the bound is half of one.
        var options = new RingOptions { HelloTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(30) };
        var listeners = LoopbackRing.Listen(3, options);
        using var strangerListener = RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0), options);
        var strays = new List<Socket>();
        RingAllReduce[]? ranks = null;
        try
        {
            foreach (var listener in listeners)
            {
                for (var i = 0; i < 6; i++)
                    strays.Add(await ConnectAsync(listener.EndPoint));
                var shortGarbage = await ConnectAsync(listener.EndPoint);
                await shortGarbage.SendAsync(RandomNumberGenerator.GetBytes(10));
                var longGarbage = await ConnectAsync(listener.EndPoint);
                await longGarbage.SendAsync(RandomNumberGenerator.GetBytes(500));
                strays.AddRange([shortGarbage, longGarbage]);
            }
            var peers = listeners.Select(l => l.EndPoint).ToArray();
            // Claims to be rank 0's predecessor, with another run's token.
            var stranger = RingAllReduce.ConnectAsync(
                new RingMembership(2, 3, [peers[0], peers[1], strangerListener.EndPoint], RingMembership.NewToken()), strangerListener, options);

            var token = RingMembership.NewToken();
            var clock = Stopwatch.StartNew();
            ranks = await Task.WhenAll(Enumerable.Range(0, 3).Select(rank =>
                RingAllReduce.ConnectAsync(new RingMembership(rank, 3, peers, token), listeners[rank], options))).WaitAsync(LoopbackRing.Guard);
            var formedIn = clock.Elapsed;

            Assert.True(formedIn < options.HelloTimeout / 2, $"the ring took {formedIn} to form past the stray connections");
            var refused = await Assert.ThrowsAsync<RingHandshakeException>(() => stranger.WaitAsync(LoopbackRing.Guard));
            Assert.Contains("run token mismatch", refused.Message);
            var buffers = new[] { new[] { 1f }, new[] { 10f }, new[] { 100f } };
            await Task.WhenAll(LoopbackRing.OnEveryRank(3, rank => ranks[rank].AllReduceSum(buffers[rank]))).WaitAsync(LoopbackRing.Guard);
            Assert.All(buffers, b => Assert.Equal(111f, b[0]));
        }
        finally
        {
            foreach (var rank in ranks ?? [])
                rank.Dispose();
            foreach (var stray in strays)
                stray.Dispose();
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task AConnectorWithoutTheRunTokenReceivesOnlyANonceBeforeTheConnectionCloses()
    {
        var options = new RingOptions { HelloTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(30) };
        var listeners = LoopbackRing.Listen(5, options);
        using var stop = new CancellationTokenSource();
        // Rank 2 of 5 is forming its ring; no other rank is.
        var forming = RingAllReduce.ConnectAsync(
            new RingMembership(2, 5, listeners.Select(l => l.EndPoint).ToArray(), RingMembership.NewToken()), listeners[2], options, stop.Token);
        try
        {
            var challenges = new List<byte[]>();
            for (var attempt = 0; attempt < 2; attempt++)
            {
                using var intruder = await ConnectAsync(listeners[2].EndPoint);
                var challenge = await ReadUntilAsync(intruder, ChallengeBytes, TimeSpan.FromSeconds(5));
                Assert.Equal(ChallengeBytes, challenge.Length);
                Assert.Equal("TRNG"u8.ToArray(), challenge[..4]);
                Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(4)));

                // A well-formed answer whose proof was made without the token.
                var proof = new byte[ProofBytes];
                challenge.AsSpan(0, 6).CopyTo(proof);
                RandomNumberGenerator.Fill(proof.AsSpan(6));
                await intruder.SendAsync(proof);
                var clock = Stopwatch.StartNew();
                var (rest, closed) = await ReadUntilClosedAsync(intruder, TimeSpan.FromSeconds(5));

                Assert.True(closed, "the listener kept the connection of a peer that failed to prove the token");
                Assert.True(clock.Elapsed < options.HelloTimeout / 2, $"the listener closed after {clock.Elapsed}, not on the wrong proof");
                Assert.Empty(rest);
                Assert.False(ContainsInt32(challenge, 2) || ContainsInt32(challenge, 5), "the challenge names the rank or the world size");
                challenges.Add(challenge);
            }
            Assert.NotEqual(challenges[0][6..], challenges[1][6..]);
            Assert.False(forming.IsCompleted);
        }
        finally
        {
            stop.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => forming.WaitAsync(LoopbackRing.Guard));
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task AConnectionThatNeverProvesTheTokenIsDroppedAfterTheHelloTimeoutAndTheRingStillForms()
    {
        var options = new RingOptions { HelloTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(20) };
        var listeners = LoopbackRing.Listen(2, options);
        var peers = listeners.Select(l => l.EndPoint).ToArray();
        var token = RingMembership.NewToken();
        RingAllReduce[]? ranks = null;
        try
        {
            var rank0 = RingAllReduce.ConnectAsync(new RingMembership(0, 2, peers, token), listeners[0], options);
            using var idle = await ConnectAsync(listeners[0].EndPoint);
            var clock = Stopwatch.StartNew();
            var (received, closed) = await ReadUntilClosedAsync(idle, TimeSpan.FromSeconds(10));

            Assert.True(closed, "the idle connection was never dropped");
            Assert.InRange(clock.Elapsed, options.HelloTimeout * 0.9, options.HelloTimeout * 5);
            Assert.Equal(ChallengeBytes, received.Length);

            var rank1 = RingAllReduce.ConnectAsync(new RingMembership(1, 2, peers, token), listeners[1], options);
            ranks = await Task.WhenAll(rank0, rank1).WaitAsync(LoopbackRing.Guard);
            Assert.Equal([0, 1], ranks.Select(r => r.Rank));
        }
        finally
        {
            foreach (var rank in ranks ?? [])
                rank.Dispose();
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task AHelloTimeoutThatIsNotPositiveIsRefusedBeforeAnythingIsSent()
    {
        using var listener = RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var membership = new RingMembership(0, 2, [listener.EndPoint, listener.EndPoint], RingMembership.NewToken());

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            RingAllReduce.ConnectAsync(membership, listener, new RingOptions { HelloTimeout = TimeSpan.Zero }));
        Assert.Equal(nameof(RingOptions.HelloTimeout), error.ParamName);
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>Reads until <paramref name="count"/> bytes came, the peer closed, or <paramref name="limit"/> passed.</summary>
    private static async Task<byte[]> ReadUntilAsync(Socket socket, int count, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var buffer = new byte[count];
        var received = 0;
        try
        {
            while (received < count)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
                if (n == 0)
                    break;
                received += n;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return buffer[..received];
    }

    /// <summary>Everything that arrives until the peer closes (closed) or <paramref name="limit"/> passes (not closed).</summary>
    private static async Task<(byte[] Received, bool Closed)> ReadUntilClosedAsync(Socket socket, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                    return (received.ToArray(), true);
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return (received.ToArray(), false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (received.ToArray(), true);
        }
    }

    private static bool ContainsInt32(byte[] bytes, int value)
    {
        Span<byte> pattern = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(pattern, value);
        return bytes.AsSpan().IndexOf(pattern) >= 0;
    }
}
