using System.Net;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Tests.Distributed;

/// <summary>The ring tests share two cores and measure time; run them one class after another.</summary>
[CollectionDefinition(Name)]
public sealed class RingCollection
{
    public const string Name = "ring all-reduce on loopback";
}

/// <summary>All ranks of one ring in this process, on 127.0.0.1, each collective on its own thread per rank as a
/// training loop per worker would run it.</summary>
internal sealed class LoopbackRing : IDisposable
{
    /// <summary>Upper bound on anything a test waits for, so a hang fails the test instead of the run.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly RingListener[] _listeners;

    private LoopbackRing(RingListener[] listeners, RingAllReduce[] ranks)
    {
        _listeners = listeners;
        Ranks = ranks;
    }

    public RingAllReduce[] Ranks { get; }

    public static RingListener[] Listen(int worldSize, RingOptions? options = null) =>
        Enumerable.Range(0, worldSize).Select(_ => RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0), options)).ToArray();

    public static async Task<LoopbackRing> FormAsync(int worldSize, RingOptions? options = null)
    {
        var listeners = Listen(worldSize, options);
        var peers = listeners.Select(l => l.EndPoint).ToArray();
        var token = RingMembership.NewToken();
        var ranks = await Task.WhenAll(Enumerable.Range(0, worldSize).Select(rank =>
            RingAllReduce.ConnectAsync(new RingMembership(rank, worldSize, peers, token), listeners[rank], options))).WaitAsync(Guard);
        return new LoopbackRing(listeners, ranks);
    }

    /// <summary>Starts <paramref name="work"/> for every rank at once, each on a thread of its own.</summary>
    public static Task[] OnEveryRank(int worldSize, Action<int> work) =>
        Enumerable.Range(0, worldSize)
            .Select(rank => Task.Factory.StartNew(() => work(rank), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();

    public Task RunAsync(Action<RingAllReduce> collective) => Task.WhenAll(OnEveryRank(Ranks.Length, rank => collective(Ranks[rank]))).WaitAsync(Guard);

    public void Dispose()
    {
        foreach (var rank in Ranks)
            rank.Dispose();
        foreach (var listener in _listeners)
            listener.Dispose();
    }
}
