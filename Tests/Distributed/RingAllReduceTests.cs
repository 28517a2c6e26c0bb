using System.Diagnostics;
using TorchSharp;
using TrainManager.Node.GradientExchange.Ring;
using static TorchSharp.torch;

namespace TrainManager.Tests.Distributed;

[Collection(RingCollection.Name)]
public sealed class RingAllReduceTests
{
    private static readonly long[][] Shapes = [[3, 5], [7], [], [0], [2, 3, 4]];

    public static TheoryData<int> WorldSizes => [1, 2, 3, 4, 5];

    public static TheoryData<int, int> WorldSizesAndBuckets
    {
        get
        {
            var data = new TheoryData<int, int>();
            foreach (var worldSize in new[] { 1, 2, 3, 4, 5 })
                foreach (var bucketBytes in new[] { 4, 12, 28, 4 << 20 }) // 1 float (fewer than N), 3 and 7 (not dividing 47), default
                    data.Add(worldSize, bucketBytes);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(WorldSizes))]
    public async Task SumIsExactOnEveryRankForAnyLength(int worldSize)
    {
        using var ring = await LoopbackRing.FormAsync(worldSize);
        foreach (var length in new[] { 0, 1, worldSize - 1, worldSize, worldSize + 1, 7, 1000, 1001, 65_537 }.Distinct())
        {
            var buffers = Enumerable.Range(0, worldSize).Select(rank => IntegerValued(length, rank)).ToArray();
            await ring.RunAsync(member => member.AllReduceSum(buffers[member.Rank]));

            var expected = ExpectedSum(length, worldSize);
            foreach (var buffer in buffers)
                Assert.Equal(expected, buffer);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task SpanMeanIsTheSumDividedByTheWorldSize(int worldSize)
    {
        const int length = 1001;
        using var ring = await LoopbackRing.FormAsync(worldSize);
        var buffers = Enumerable.Range(0, worldSize).Select(rank => IntegerValued(length, rank)).ToArray();

        await ring.RunAsync(member => member.AllReduceMean(buffers[member.Rank]));

        var expected = ExpectedSum(length, worldSize).Select(sum => sum / worldSize).ToArray();
        foreach (var buffer in buffers)
            Assert.Equal(expected, buffer);
    }

    [Fact]
    public async Task SumOfAHugeBufferIsExact()
    {
        const int length = 8 << 20; // 32 MB a rank, far beyond any socket buffer
        using var ring = await LoopbackRing.FormAsync(3);
        var buffers = Enumerable.Range(0, 3).Select(rank => IntegerValued(length, rank)).ToArray();

        await ring.RunAsync(member => member.AllReduceSum(buffers[member.Rank]));

        var expected = ExpectedSum(length, 3);
        foreach (var buffer in buffers)
            Assert.True(expected.AsSpan().SequenceEqual(buffer), "a rank's huge buffer differs from the exact sum");
    }

    [Theory]
    [MemberData(nameof(WorldSizesAndBuckets))]
    public async Task TensorSumIsExactForAnyBucketSize(int worldSize, int bucketBytes)
    {
        using var ring = await LoopbackRing.FormAsync(worldSize, new RingOptions { BucketBytes = bucketBytes });
        using var scope = NewDisposeScope();
        var tensors = Enumerable.Range(0, worldSize).Select(rank => Shapes.Select((shape, i) => IntegerTensor(shape, rank, i)).ToArray()).ToArray();

        await ring.RunAsync(member => member.AllReduceSum(tensors[member.Rank]));

        foreach (var perRank in tensors)
            for (var i = 0; i < Shapes.Length; i++)
            {
                using var expected = IntegerTensor(Shapes[i], 0, i) * (worldSize * (worldSize + 1) / 2);
                Assert.Equal(Shapes[i], perRank[i].shape);
                Assert.Equal(expected.data<float>().ToArray(), perRank[i].data<float>().ToArray());
            }
    }

    [Fact]
    public async Task MeanOverTensorsOfDifferentShapesIsTheElementwiseMeanOnEveryRank()
    {
        const int worldSize = 3;
        using var ring = await LoopbackRing.FormAsync(worldSize, new RingOptions { BucketBytes = 64 });
        using var scope = NewDisposeScope();
        var random = new Random(7);
        var tensors = Enumerable.Range(0, worldSize).Select(_ => Shapes.Select(shape => RandomTensor(shape, random)).ToArray()).ToArray();
        var expected = Enumerable.Range(0, Shapes.Length)
            .Select(i => stack(tensors.Select(perRank => perRank[i]).ToArray()).mean([0L]))
            .ToArray();

        await ring.RunAsync(member => member.AllReduceMean(tensors[member.Rank]));

        foreach (var perRank in tensors)
            for (var i = 0; i < Shapes.Length; i++)
                Assert.True(perRank[i].allclose(expected[i], rtol: 1e-6, atol: 1e-6), $"tensor {i} is not the mean over the ranks");
    }

    [Fact]
    public async Task MeanWorksOnParametersThatRequireGrad()
    {
        using var ring = await LoopbackRing.FormAsync(2);
        using var scope = NewDisposeScope();
        var parameters = Enumerable.Range(0, 2).Select(rank => full(4, rank * 2f).requires_grad_()).ToArray();

        await ring.RunAsync(member => member.AllReduceMean([parameters[member.Rank]]));

        Assert.All(parameters, p => Assert.Equal(new[] { 1f, 1f, 1f, 1f }, p.data<float>().ToArray()));
    }

    [Fact]
    public async Task SumIsExactWhenTheNetworkSplitsFloatsAcrossReads()
    {
        var listeners = LoopbackRing.Listen(2);
        using var proxy = new FragmentingProxy(listeners[1].EndPoint, pieceBytes: 7);
        try
        {
            // Rank 0 reaches rank 1 through the proxy; its handshake, header and floats arrive 7 bytes at a time.
            var peers = new[] { listeners[0].EndPoint, proxy.EndPoint };
            var token = RingMembership.NewToken();
            var ranks = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank =>
                RingAllReduce.ConnectAsync(new RingMembership(rank, 2, peers, token), listeners[rank]))).WaitAsync(LoopbackRing.Guard);
            var buffers = Enumerable.Range(0, 2).Select(rank => IntegerValued(101, rank)).ToArray();

            await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => ranks[rank].AllReduceSum(buffers[rank]))).WaitAsync(LoopbackRing.Guard);

            foreach (var rank in ranks)
                rank.Dispose();
            Assert.All(buffers, buffer => Assert.Equal(ExpectedSum(101, 2), buffer));
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public async Task ASlicedTensorIsReducedOnlyWhereItLooks()
    {
        using var ring = await LoopbackRing.FormAsync(2);
        using var scope = NewDisposeScope();
        var storages = Enumerable.Range(0, 2).Select(_ => arange(20, ScalarType.Float32)).ToArray();
        var slices = storages.Select(storage => storage.narrow(0, 5, 10)).ToArray(); // contiguous, at an offset

        await ring.RunAsync(member => member.AllReduceSum([slices[member.Rank]]));

        var expected = Enumerable.Range(0, 20).Select(i => i is >= 5 and < 15 ? 2f * i : i).ToArray();
        Assert.All(storages, storage => Assert.Equal(expected, storage.data<float>().ToArray()));
    }

    [Fact]
    public async Task EveryRankEndsWithTheSameBits()
    {
        const int worldSize = 4;
        using var ring = await LoopbackRing.FormAsync(worldSize);
        var random = new Random(3);
        var buffers = Enumerable.Range(0, worldSize)
            .Select(_ => Enumerable.Range(0, 10_001).Select(_ => (float)(random.NextDouble() * 2 - 1) / 3f).ToArray())
            .ToArray();

        await ring.RunAsync(member => member.AllReduceSum(buffers[member.Rank]));

        // Replicas only stay identical if the reduced gradients are; float addition order must not differ per rank.
        foreach (var buffer in buffers.Skip(1))
            Assert.True(buffers[0].AsSpan().SequenceEqual(buffer), "ranks ended with different bits");
    }

    [Fact]
    public async Task AsyncSumRunsEveryRankWithoutHoldingTheCaller()
    {
        const int worldSize = 3, length = 100_003;
        using var ring = await LoopbackRing.FormAsync(worldSize);
        var buffers = Enumerable.Range(0, worldSize).Select(rank => IntegerValued(length, rank)).ToArray();

        await Task.WhenAll(ring.Ranks.Select(member => member.AllReduceSumAsync(buffers[member.Rank]))).WaitAsync(LoopbackRing.Guard);

        var expected = ExpectedSum(length, worldSize);
        foreach (var buffer in buffers)
            Assert.Equal(expected, buffer);
    }

    [Fact]
    public async Task BarrierReturnsOnlyAfterEveryRankHasArrived()
    {
        const int worldSize = 4;
        using var ring = await LoopbackRing.FormAsync(worldSize);
        var arrived = new long[worldSize];
        var left = new long[worldSize];

        await ring.RunAsync(member =>
        {
            Thread.Sleep(60 * member.Rank); // staggered arrival
            arrived[member.Rank] = Stopwatch.GetTimestamp();
            member.Barrier();
            left[member.Rank] = Stopwatch.GetTimestamp();
        });

        Assert.All(left, leaving => Assert.True(leaving >= arrived.Max(), "a rank left the barrier before the last one arrived"));
    }

    [Fact]
    public async Task TensorsOfAnotherTypeAreRefusedBeforeAnythingIsSent()
    {
        using var ring = await LoopbackRing.FormAsync(2);
        using var scope = NewDisposeScope();
        var doubles = zeros(3, ScalarType.Float64);

        var error = Assert.Throws<ArgumentException>(() => ring.Ranks[0].AllReduceMean([doubles]));
        Assert.Contains("Float64", error.Message);

        // The refusal left the ring in step: a collective afterwards still works.
        var buffers = new[] { new[] { 1f }, new[] { 2f } };
        await ring.RunAsync(member => member.AllReduceSum(buffers[member.Rank]));
        Assert.All(buffers, b => Assert.Equal(3f, b[0]));
    }

    /// <summary>Small integers, different per rank, so sums are exact in float32 whatever the order.</summary>
    private static float[] IntegerValued(int length, int rank)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
            values[i] = (rank + 1) * (i % 97 - 48);
        return values;
    }

    private static float[] ExpectedSum(int length, int worldSize)
    {
        var expected = new float[length];
        var factor = worldSize * (worldSize + 1) / 2;
        for (var i = 0; i < length; i++)
            expected[i] = factor * (i % 97 - 48);
        return expected;
    }

    private static Tensor IntegerTensor(long[] shape, int rank, int index)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, count).Select(i => (float)((rank + 1) * ((i + index) % 13 - 6))).ToArray();
        return tensor(values, shape);
    }

    private static Tensor RandomTensor(long[] shape, Random random)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        return tensor(Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray(), shape);
    }
}
