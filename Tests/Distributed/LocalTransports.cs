using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Tests.Distributed;

/// <summary>Every rank of one run's gradient transport in this process, by the name an experiment chooses it by: the
/// ring on loopback, or an in-process exchange; for tests that must hold for every transport.</summary>
internal sealed class LocalTransports : IDisposable
{
    public static TheoryData<string> Names => [RingAllReduce.TransportName, InProcessExchange.TransportName];

    private readonly IDisposable? _owner;

    private LocalTransports(IGradientTransport[] ranks, IDisposable? owner)
    {
        Ranks = ranks;
        _owner = owner;
    }

    public IGradientTransport[] Ranks { get; }

    public static async Task<LocalTransports> FormAsync(string name, int worldSize, int bucketBytes = 4 << 20)
    {
        if (name == RingAllReduce.TransportName)
        {
            var ring = await LoopbackRing.FormAsync(worldSize, new RingOptions { BucketBytes = bucketBytes });
            return new LocalTransports(ring.Ranks, ring);
        }
        var exchanges = new InProcessExchanges();
        var options = new InProcessOptions { BucketBytes = bucketBytes, ConnectTimeout = LoopbackRing.Guard, OperationTimeout = LoopbackRing.Guard };
        var key = Guid.NewGuid().ToString("N");
        var ranks = new IGradientTransport[worldSize];
        await Task.WhenAll(LoopbackRing.OnEveryRank(worldSize, rank => ranks[rank] = exchanges.Join(key, rank, worldSize, options))).WaitAsync(LoopbackRing.Guard);
        return new LocalTransports(ranks, null);
    }

    public Task RunAsync(Action<IGradientTransport> collective) =>
        Task.WhenAll(LoopbackRing.OnEveryRank(Ranks.Length, rank => collective(Ranks[rank]))).WaitAsync(LoopbackRing.Guard);

    public void Dispose()
    {
        foreach (var rank in Ranks)
            rank.Dispose();
        _owner?.Dispose();
    }
}
