using System.Diagnostics;
using TorchSharp;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Tests.Distributed;

[Collection(RingCollection.Name)]
public sealed class RingFailureTests
{
    [Fact]
    public async Task PeerThatClosesItsConnectionsMidCollectiveFailsTheOthersFast()
    {
        // A timeout far above the assertion below: the others must notice the closed connections, not time out.
        var options = new RingOptions { OperationTimeout = TimeSpan.FromSeconds(5) };
        using var ring = await LoopbackRing.FormAsync(4, options);
        var buffers = Enumerable.Range(0, 4).Select(_ => new float[1 << 20]).ToArray();
        await ring.RunAsync(member => member.AllReduceSum(buffers[member.Rank]));

        var clock = Stopwatch.StartNew();
        var (errors, failedAt) = StartCollectiveOn(ring, survivors: 3, buffers, clock, out var survivorsDone);
        await Task.Delay(200); // the survivors are now waiting on rank 3, part-way into the collective
        var killedAt = clock.Elapsed;
        ring.Ranks[3].Dispose();
        await survivorsDone.WaitAsync(LoopbackRing.Guard);

        for (var rank = 0; rank < 3; rank++)
        {
            var broken = Assert.IsType<RingBrokenException>(errors[rank]);
            Assert.True(failedAt[rank] - killedAt < TimeSpan.FromSeconds(2), $"rank {rank} took {failedAt[rank] - killedAt} to notice");
            Assert.Contains("all-reduce", broken.Operation);
        }
        Assert.Equal(3, ((RingBrokenException)errors[0]!).PeerRank); // rank 3 is rank 0's predecessor
        Assert.Throws<InvalidOperationException>(() => ring.Ranks[0].AllReduceSum(buffers[0]));
    }

    [Fact]
    public async Task SilentPeerFailsTheOthersAfterTheOperationTimeout()
    {
        var timeout = TimeSpan.FromSeconds(1);
        using var ring = await LoopbackRing.FormAsync(3, new RingOptions { OperationTimeout = timeout });
        var buffers = Enumerable.Range(0, 3).Select(_ => new float[1000]).ToArray();

        var clock = Stopwatch.StartNew();
        var (errors, failedAt) = StartCollectiveOn(ring, survivors: 2, buffers, clock, out var survivorsDone); // rank 2 stays silent
        await survivorsDone.WaitAsync(LoopbackRing.Guard);

        for (var rank = 0; rank < 2; rank++)
        {
            Assert.IsType<RingBrokenException>(errors[rank]);
            Assert.InRange(failedAt[rank], timeout * 0.9, timeout * 4);
        }
        var first = (RingBrokenException)errors[0]!;
        Assert.Equal(2, first.PeerRank);
        Assert.Contains("nothing arrived", first.Message);
    }

    [Fact]
    public async Task RanksThatDisagreeOnTheSizeFailInsteadOfExchangingGarbage()
    {
        using var ring = await LoopbackRing.FormAsync(3);
        var buffers = new[] { new float[1000], new float[999], new float[1000] };
        var errors = new Exception?[3];

        await ring.RunAsync(member =>
        {
            try { member.AllReduceSum(buffers[member.Rank]); }
            catch (Exception e) { errors[member.Rank] = e; }
        });

        Assert.All(errors, e => Assert.IsType<RingBrokenException>(e));
        Assert.Contains("999 floats", errors[2]!.Message); // rank 2 receives from rank 1, the odd one out
    }

    [Fact]
    public async Task TensorListsThatCutIntoDifferentRingPassesFailEvenWithEqualSizes()
    {
        // 10 floats on both ranks, but with buckets of 5 floats rank 0 makes passes of 4, 5, 1 and rank 1 of 5, 5.
        using var ring = await LoopbackRing.FormAsync(2, new RingOptions { BucketBytes = 5 * sizeof(float) });
        using var scope = torch.NewDisposeScope();
        var tensors = new[] { new[] { torch.ones(4), torch.ones(6) }, new[] { torch.ones(6), torch.ones(4) } };
        var errors = new Exception?[2];

        await ring.RunAsync(member =>
        {
            try { member.AllReduceSum(tensors[member.Rank]); }
            catch (Exception e) { errors[member.Rank] = e; }
        });

        Assert.All(errors, e => Assert.Contains("tensor shapes", Assert.IsType<RingBrokenException>(e).Message));
    }

    /// <summary>Runs an all-reduce on ranks 0..survivors-1 only, recording each one's exception and when it ended.</summary>
    private static (Exception?[] Errors, TimeSpan[] FailedAt) StartCollectiveOn(LoopbackRing ring, int survivors, float[][] buffers,
        Stopwatch clock, out Task done)
    {
        var errors = new Exception?[survivors];
        var failedAt = new TimeSpan[survivors];
        done = Task.WhenAll(LoopbackRing.OnEveryRank(survivors, rank =>
        {
            try { ring.Ranks[rank].AllReduceSum(buffers[rank]); }
            catch (Exception e) { errors[rank] = e; }
            failedAt[rank] = clock.Elapsed;
        }));
        return (errors, failedAt);
    }
}
