using System.Diagnostics;
using System.Net;
using TorchSharp;
using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>
/// Training throughput (samples/s) of N data-parallel workers with one libtorch thread each, against one worker
/// with one thread, on the example CNN, measured in the same process on the same data.
/// <code>dotnet run -c Release --project bench/Bench -- dataparallel [--workers 2] [--limit 12000] [--epochs 2] [--model cnn] [--rounds 3]</code>
/// Each worker keeps the per-worker batch (128), so N workers process N times the samples per step.
/// </summary>
public static class DataParallelBenchmark
{
    private sealed class Throughput : Extension
    {
        private Stopwatch? _watch;
        private long _samples;
        public readonly List<double> SamplesPerSecond = new();
        public void PreEpoch() { _watch = Stopwatch.StartNew(); _samples = 0; }
        public void PostBatch(long[] sampleIndices) => _samples += sampleIndices.Length;
        public void PostTrain() => SamplesPerSecond.Add(_samples / _watch!.Elapsed.TotalSeconds);
    }

    /// <summary>The share of each epoch a rank spends between the end of its backward pass and the start of the other
    /// PreStep hooks: the gradient exchange, and waiting in it for the slower ranks.</summary>
    private sealed class ExchangeShare : Extension
    {
        private long _backwardDone, _epochStart, _exchange;
        public readonly List<double> Shares = new();
        public override int Order => int.MinValue + 1; // right after the data-parallel extension's PreStep
        public void PreEpoch() { _epochStart = Stopwatch.GetTimestamp(); _exchange = 0; }
        public void PostBackward() => _backwardDone = Stopwatch.GetTimestamp();
        public void PreStep() => _exchange += Stopwatch.GetTimestamp() - _backwardDone;
        public void PostTrain() => Shares.Add(_exchange / (double)(Stopwatch.GetTimestamp() - _epochStart));
    }

    public static int Run(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        var workers = int.Parse(Value("--workers", "2"));
        var limit = int.Parse(Value("--limit", "12000"));
        var epochs = int.Parse(Value("--epochs", "2"));
        var model = Value("--model", "cnn");
        var rounds = int.Parse(Value("--rounds", "3"));
        torch.set_num_threads(1); // one libtorch thread per worker: the workers are the parallelism
        var experiment = new Experiment
        {
            Name = "bench-data-parallel",
            Seed = 1,
            Epochs = epochs,
            BatchSize = 128,
            Threads = 1,
            Model = ExampleModels.Section(model),
            Data = new DataSection { Type = "fashion-mnist", TrainLimit = limit, TestLimit = 1000 },
            ResolvedHocon = "name = bench-data-parallel\n",
        };
        Console.WriteLine($"Data-parallel benchmark: {model}, {workers} workers vs 1, one thread each, {limit} samples, batch 128 per worker, epoch 1 is warm-up");

        // Rounds of (one worker, then N workers), each pair on the same machine state; the median of the rounds' ratios.
        var ratios = new List<double>();
        var ceilings = new List<double>();
        var exchange = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var (one, many, independent, share) = Round(experiment, workers, round);
            ratios.Add(many / one);
            ceilings.Add(many / independent);
            exchange.Add(share);
            Console.WriteLine($"round {round}: 1 worker {one:F0} samples/s   {workers} workers {many:F0} samples/s   ratio {many / one:F2}   " +
                              $"({workers} independent workers, no exchange: {independent:F0} samples/s; ring / independent {many / independent:F2}; " +
                              $"exchange and waiting {share:P0} of an epoch)");
        }
        Console.WriteLine($"median ratio {Statistics.Median(ratios):F2} over {rounds} rounds (target >= 1.7 for 2 workers); " +
                          $"against {workers} workers training side by side without exchanging anything: {Statistics.Median(ceilings):F2}; " +
                          $"exchange and waiting: {Statistics.Median(exchange):P0} of an epoch");
        return 0;
    }

    /// <summary>Trains one worker, then <paramref name="workers"/> on a loopback ring; the samples/s of each after the
    /// warm-up epoch (the sum over the workers for the ring).</summary>
    /// <summary>One worker, <paramref name="workers"/> independent ones at once, and <paramref name="workers"/> on a
    /// loopback ring, in an order that turns with the round so that none is always first; the samples/s of each after
    /// the warm-up epoch (summed over the workers), and the ring's share of an epoch in the exchange.</summary>
    private static (double One, double Many, double Independent, double ExchangeShare) Round(Experiment experiment, int workers, int round)
    {
        var single = new Throughput();
        var alone = Enumerable.Range(0, workers).Select(_ => new Throughput()).ToArray();
        var meters = Enumerable.Range(0, workers).Select(_ => new Throughput()).ToArray();
        var shares = Enumerable.Range(0, workers).Select(_ => new ExchangeShare()).ToArray();
        Action[] runs =
        [
            () => TrainSideBySide([Trainer.FromExperiment(experiment, BenchExtensions.Catalog, null, [single])]),
            // The machine's own ceiling: as many workers at once, each alone (no ring), sharing the cores and memory.
            () => TrainSideBySide(Enumerable.Range(0, workers).Select(rank => Trainer.FromExperiment(experiment, BenchExtensions.Catalog, null, [alone[rank]])).ToArray()),
            () => TrainOnRing(experiment, workers, meters, shares),
        ];
        for (var i = 0; i < runs.Length; i++)
            runs[(i + round) % runs.Length]();

        double Sum(Throughput[] each) =>
            Enumerable.Range(0, single.SamplesPerSecond.Count - 1).Select(e => each.Sum(m => m.SamplesPerSecond[e + 1])).Average();
        return (single.SamplesPerSecond.Skip(1).Average(), Sum(meters), Sum(alone), shares.Average(s => s.Shares.Skip(1).Average()));
    }

    private static void TrainSideBySide(Trainer[] trainers)
    {
        var threads = trainers.Select(trainer => new Thread(() => trainer.Fit())).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        foreach (var trainer in trainers) trainer.Dispose();
    }

    private static void TrainOnRing(Experiment experiment, int workers, Throughput[] meters, ExchangeShare[] shares)
    {
        var listeners = Enumerable.Range(0, workers).Select(_ => RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        var token = RingMembership.NewToken();
        var peers = listeners.Select(l => l.EndPoint).ToArray();
        var rings = Task.WhenAll(Enumerable.Range(0, workers).Select(rank =>
            RingAllReduce.ConnectAsync(new RingMembership(rank, workers, peers, token), listeners[rank]))).GetAwaiter().GetResult();
        // Built one after the other (seeding draws from torch's global generator), then trained on a thread each.
        TrainSideBySide(Enumerable.Range(0, workers).Select(rank => Trainer.FromExperiment(experiment, BenchExtensions.Catalog, null,
            [new DataParallelExtension(rings[rank]), meters[rank], shares[rank]], rank: rank, worldSize: workers)).ToArray());
        foreach (var ring in rings) ring.Dispose();
        foreach (var listener in listeners) listener.Dispose();
    }
}
