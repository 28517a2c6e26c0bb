using System.Diagnostics;
using System.Net;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Tests.Distributed;

[Collection(RingCollection.Name)]
public sealed class RingHandshakeTests
{
    [Fact]
    public void ListenerOnPortZeroReportsTheBoundPort()
    {
        using var listener = RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0));

        Assert.NotEqual(0, listener.EndPoint.Port);
        Assert.Equal(IPAddress.Loopback, listener.EndPoint.Address);
    }

    [Fact]
    public async Task RanksWithDifferentRunTokensRefuseEachOther()
    {
        var listeners = LoopbackRing.Listen(2);
        try
        {
            var peers = listeners.Select(l => l.EndPoint).ToArray();
            var connects = new[]
            {
                RingAllReduce.ConnectAsync(new RingMembership(0, 2, peers, RingMembership.NewToken()), listeners[0]),
                RingAllReduce.ConnectAsync(new RingMembership(1, 2, peers, RingMembership.NewToken()), listeners[1]),
            };

            var refusals = new List<RingHandshakeException>();
            foreach (var connect in connects)
                refusals.Add(await Assert.ThrowsAsync<RingHandshakeException>(() => connect.WaitAsync(LoopbackRing.Guard)));

            // A rank that was refused first may drop the hello it had not answered yet; the other then sees the
            // connection close instead of the verdict. At least one of them hears why.
            Assert.Contains(refusals, refused => refused.Message.Contains("run token mismatch"));
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task AStrangerWithTheWrongTokenIsRefusedWhileTheRingStillForms()
    {
        var listeners = LoopbackRing.Listen(3); // ranks 0 and 1, and the stranger's own
        try
        {
            var peers = new[] { listeners[0].EndPoint, listeners[1].EndPoint };
            var token = RingMembership.NewToken();
            // Rank 0 first, so that it is accepting when the stranger knocks, before rank 1 does.
            var rank0 = RingAllReduce.ConnectAsync(new RingMembership(0, 2, peers, token), listeners[0]);
            var stranger = RingAllReduce.ConnectAsync(
                new RingMembership(1, 2, [listeners[0].EndPoint, listeners[2].EndPoint], RingMembership.NewToken()), listeners[2]);
            var refused = await Assert.ThrowsAsync<RingHandshakeException>(() => stranger.WaitAsync(LoopbackRing.Guard));
            Assert.Contains("run token mismatch", refused.Message);

            var rank1 = RingAllReduce.ConnectAsync(new RingMembership(1, 2, peers, token), listeners[1]);
            var ranks = await Task.WhenAll(rank0, rank1).WaitAsync(LoopbackRing.Guard);
            try
            {
                var buffers = new[] { new[] { 1f, 2f }, new[] { 10f, 20f } };
                await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => ranks[rank].AllReduceSum(buffers[rank]))).WaitAsync(LoopbackRing.Guard);
                Assert.All(buffers, b => Assert.Equal(new[] { 11f, 22f }, b));
            }
            finally
            {
                foreach (var rank in ranks)
                    rank.Dispose();
            }
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task FormingTheRingTimesOutWhenASuccessorNeverAnswers()
    {
        var listeners = LoopbackRing.Listen(2);
        try
        {
            var peers = listeners.Select(l => l.EndPoint).ToArray();
            var options = new RingOptions { ConnectTimeout = TimeSpan.FromSeconds(1) };
            var clock = Stopwatch.StartNew();

            // Rank 1 listens but never forms its side of the ring.
            var error = await Assert.ThrowsAsync<TimeoutException>(() =>
                RingAllReduce.ConnectAsync(new RingMembership(0, 2, peers, RingMembership.NewToken()), listeners[0], options).WaitAsync(LoopbackRing.Guard));

            Assert.Contains("rank 1", error.Message);
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }
}
