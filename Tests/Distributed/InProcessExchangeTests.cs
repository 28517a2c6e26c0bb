using TrainManager.Distributed;
using TrainManager.Experiments;
using TrainManager.Node.GradientExchange;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Node.Workers;
using TrainManager.Protocol;
using static TorchSharp.torch;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Distributed;

/// <summary>The in-process exchange against the ring it stands in for, how it fails, and how a run picks its transport.</summary>
[Collection(RingCollection.Name)]
public sealed class InProcessExchangeTests
{
    public static TheoryData<int, int> RanksAndBuckets => new() { { 2, 4 << 20 }, { 4, 4 << 20 }, { 2, 256 }, { 4, 256 }, { 4, 4 } };

    /// <summary>Tensors of awkward lengths (one float, fewer floats than ranks, several windows of a small bucket).</summary>
    private static readonly int[] Lengths = [1, 3, 7, 300, 1000, 33];

    /// <summary>Floats of mixed signs and magnitudes per rank, so that adding them in another order changes the bits.</summary>
    private static float[] Input(int rank, int tensor, int length)
    {
        var random = new Random(rank * 7919 + tensor);
        return Enumerable.Range(0, length).Select(_ => (random.NextSingle() * 2 - 1) * MathF.Pow(10, random.Next(-3, 4))).ToArray();
    }

    private static async Task<float[][][]> ReduceAsync(string transport, int worldSize, int bucketBytes, bool mean)
    {
        using var transports = await LocalTransports.FormAsync(transport, worldSize, bucketBytes);
        var results = new float[worldSize][][];
        await transports.RunAsync(rank =>
        {
            var tensors = Lengths.Select((length, i) => tensor(Input(rank.Rank, i, length))).ToList();
            try
            {
                if (mean)
                    rank.AllReduceMean(tensors);
                else
                    rank.AllReduceSum(tensors);
                results[rank.Rank] = tensors.Select(t => t.data<float>().ToArray()).ToArray();
            }
            finally
            {
                foreach (var t in tensors) t.Dispose();
            }
        });
        return results;
    }

    private static int[] Bits(float[][][] results, int rank) => results[rank].SelectMany(t => t).Select(BitConverter.SingleToInt32Bits).ToArray();

    [Theory]
    [MemberData(nameof(RanksAndBuckets))]
    public async Task Sums_and_means_are_the_rings_bit_for_bit(int worldSize, int bucketBytes)
    {
        foreach (var mean in new[] { false, true })
        {
            var ring = await ReduceAsync(RingAllReduce.TransportName, worldSize, bucketBytes, mean);
            var inProcess = await ReduceAsync(InProcessExchange.TransportName, worldSize, bucketBytes, mean);

            for (var rank = 0; rank < worldSize; rank++)
                Assert.Equal(Bits(ring, rank), Bits(inProcess, rank));
            Assert.All(Enumerable.Range(1, worldSize - 1), rank => Assert.Equal(Bits(inProcess, 0), Bits(inProcess, rank)));
            // And they are the sums: within float rounding of the sum in doubles.
            for (var t = 0; t < Lengths.Length; t++)
                for (var i = 0; i < Lengths[t]; i++)
                {
                    var exact = Enumerable.Range(0, worldSize).Sum(rank => (double)Input(rank, t, Lengths[t])[i]) / (mean ? worldSize : 1);
                    Assert.True(Math.Abs(exact - inProcess[0][t][i]) <= 1e-5 * Math.Max(1, Math.Abs(exact)) + 1e-2,
                        $"mean={mean}, tensor {t}[{i}]: {inProcess[0][t][i]} where the sum is {exact}");
                }
        }
    }

    [Fact]
    public async Task A_rank_that_leaves_fails_the_others_at_once_with_a_peer_failure()
    {
        using var transports = await LocalTransports.FormAsync(InProcessExchange.TransportName, 3);
        var failures = new Exception?[2];
        var waiting = LoopbackRing.OnEveryRank(2, rank =>
        {
            using var gradients = ones(10);
            try
            {
                transports.Ranks[rank].AllReduceMean([gradients]);
            }
            catch (Exception e)
            {
                failures[rank] = e;
            }
        });
        await Task.Delay(200);
        transports.Ranks[2].Dispose();
        await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(5)); // long before the 20 s operation timeout

        Assert.All(failures, e =>
        {
            var broken = Assert.IsType<InProcessExchangeBrokenException>(e);
            Assert.Contains("rank 2 left it", broken.Message);
            Assert.True(transports.Ranks[0].IsPeerFailure(broken));
        });
    }

    [Fact]
    public async Task Ranks_that_call_different_collectives_fail_with_what_each_called()
    {
        using var transports = await LocalTransports.FormAsync(InProcessExchange.TransportName, 2);
        var failures = new Exception?[2];
        await transports.RunAsync(rank =>
        {
            using var gradients = ones(10 + rank.Rank);
            failures[rank.Rank] = Record.Exception(() => rank.AllReduceSum([gradients]));
        });

        Assert.All(failures, e => Assert.Contains("every rank must call the same collectives", Assert.IsType<InProcessExchangeBrokenException>(e).Message));
    }

    [Fact]
    public void Ranks_that_never_all_come_fail_the_formation_naming_the_missing_rank()
    {
        var options = new InProcessOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) };
        var error = Assert.Throws<InProcessExchangeBrokenException>(() => new InProcessExchanges().Join("run-1", 0, 2, options));
        Assert.Equal(1, error.PeerRank);
        Assert.Contains("not every rank arrived within 0.3 s", error.Message);
    }

    [Theory]
    [MemberData(nameof(LocalTransports.Names), MemberType = typeof(LocalTransports))]
    public async Task Failure_classification_asks_the_transport(string name)
    {
        using var transports = await LocalTransports.FormAsync(name, 1);
        var transport = transports.Ranks[0];
        Exception own = name == RingAllReduce.TransportName
            ? new RingBrokenException(0, 1, "all-reduce #3", "connection reset")
            : new InProcessExchangeBrokenException(0, 1, "all-reduce #3", "rank 1 left it");
        Exception other = name == RingAllReduce.TransportName
            ? new InProcessExchangeBrokenException(0, 1, "all-reduce #3", "rank 1 left it")
            : new RingBrokenException(0, 1, "all-reduce #3", "connection reset");
        // As the fit reports it: wrapped by the stage that ran the exchange.
        var wrapped = new InvalidOperationException("Hook data-parallel.PreStep failed", own);

        Assert.True(transport.IsPeerFailure(own));
        Assert.False(transport.IsPeerFailure(other));
        Assert.True(FailureText.IsPeerLoss(wrapped, transport));
        Assert.False(FailureText.IsPeerLoss(new InvalidOperationException("out of memory"), transport));
        Assert.False(FailureText.IsPeerLoss(wrapped, transport: null)); // no exchange yet: only a failed formation is a peer loss
        Assert.True(FailureText.IsPeerLoss(new ExchangeFormationException("rank 1 of 2 could not form", new TimeoutException()), transport: null));
    }

    private static CollectiveAssignment Assignment(params string[] endpoints) => new(0, endpoints, new byte[32]);

    [Theory]
    [InlineData("auto", true, "in-process")]
    [InlineData("auto", false, "ring")]
    [InlineData("ring", true, "ring")]
    [InlineData("ring", false, "ring")]
    [InlineData("in-process", true, "in-process")]
    public void A_run_uses_the_experiments_transport_and_auto_is_in_process_only_when_every_rank_is_here(string configured, bool allHere, string expected)
    {
        var here = new InProcessExchanges();
        here.AddLocalEndpoint("10.0.0.1:5001");
        here.AddLocalEndpoint("10.0.0.1:5002");
        var assignment = allHere ? Assignment("10.0.0.1:5001", "10.0.0.1:5002") : Assignment("10.0.0.1:5001", "10.0.0.2:5001");

        Assert.Equal(expected, GradientTransports.Choose(configured, assignment, here));
    }

    [Fact]
    public void In_process_is_refused_as_bad_input_when_a_rank_is_in_another_process()
    {
        var here = new InProcessExchanges();
        here.AddLocalEndpoint("10.0.0.1:5001");

        var error = Assert.Throws<TransportRefusedException>(() =>
            GradientTransports.Choose("in-process", Assignment("10.0.0.1:5001", "10.0.0.2:5001", "10.0.0.3:5001"), here));

        Assert.True(BadInput.Is(error));
        Assert.Contains("rank(s) 1, 2 of 3 were placed in another one", error.Message);
        Assert.Contains("data-parallel.transport = auto", error.Message);
    }

    [Theory]
    [InlineData(null, "auto")]
    [InlineData("ring", "ring")]
    [InlineData("In-Process", "in-process")]
    public void The_transport_is_read_and_written_back(string? written, string expected)
    {
        var text = written is null ? MinimalWith("workers = 2") : MinimalWith("workers = 2", $"data-parallel {{ transport = {written} }}");
        var experiment = ExperimentLoader.Parse(text, "exp.hocon");

        Assert.Equal(expected, experiment.DataParallel.Transport);
        Assert.Equal(expected, ExperimentLoader.Parse(ExperimentHoconWriter.Render(experiment), "again.hocon").DataParallel.Transport);
    }

    [Fact]
    public void An_unknown_transport_is_refused_with_the_known_ones()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            ExperimentLoader.Parse(MinimalWith("workers = 2", "data-parallel {", "  transport = nccl", "}"), "exp.hocon"));

        Assert.Equal("data-parallel.transport", error.KeyPath);
        Assert.Contains("'data-parallel.transport' must be one of auto, ring, in-process, but is \"nccl\"", error.Message);
    }
}
