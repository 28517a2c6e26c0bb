using System.Diagnostics;
using System.Net;
using TorchSharp;
using TrainManager.Distributed;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>
/// Training throughput (samples/s) of N data-parallel workers with one libtorch thread each, against one worker
/// with one thread, on the example CNN, measured in the same process on the same data.
/// <code>dotnet run -c Release --project bench/Bench -- dataparallel [--workers 2] [--limit 12000] [--epochs 2] [--model cnn]</code>
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

    public static int Run(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        var workers = int.Parse(Value("--workers", "2"));
        var limit = int.Parse(Value("--limit", "12000"));
        var epochs = int.Parse(Value("--epochs", "2"));
        var model = Value("--model", "cnn");
        torch.set_num_threads(1); // one libtorch thread per worker: the workers are the parallelism
        var experiment = new Experiment
        {
            Name = "bench-data-parallel",
            Seed = 1,
            Epochs = epochs,
            BatchSize = 128,
            Threads = 1,
            Model = ExampleModels.Section(model),
            Data = new DataSection { Dataset = "fashion-mnist", TrainLimit = limit, TestLimit = 1000 },
            ResolvedHocon = "name = bench-data-parallel\n",
        };
        Console.WriteLine($"Data-parallel benchmark: {model}, {workers} workers vs 1, one thread each, {limit} samples, batch 128 per worker, epoch 1 is warm-up");

        var single = new Throughput();
        using (var trainer = Trainer.FromExperiment(experiment, null, [single]))
            trainer.Fit();

        var listeners = Enumerable.Range(0, workers).Select(_ => RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        var token = RingMembership.NewToken();
        var peers = listeners.Select(l => l.EndPoint).ToArray();
        var rings = Task.WhenAll(Enumerable.Range(0, workers).Select(rank =>
            RingAllReduce.ConnectAsync(new RingMembership(rank, workers, peers, token), listeners[rank]))).GetAwaiter().GetResult();
        var meters = Enumerable.Range(0, workers).Select(_ => new Throughput()).ToArray();
        // Built one after the other (seeding draws from torch's global generator), then trained on a thread each.
        var trainers = Enumerable.Range(0, workers).Select(rank =>
            Trainer.FromExperiment(experiment, null, [new DataParallelExtension(rings[rank]), meters[rank]], rank: rank, worldSize: workers)).ToArray();
        var threads = trainers.Select(trainer => new Thread(() => trainer.Fit())).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        foreach (var trainer in trainers) trainer.Dispose();
        foreach (var ring in rings) ring.Dispose();
        foreach (var listener in listeners) listener.Dispose();

        var one = single.SamplesPerSecond.Skip(1).Average();
        var many = Enumerable.Range(0, single.SamplesPerSecond.Count - 1).Select(e => meters.Sum(m => m.SamplesPerSecond[e + 1])).Average();
        Console.WriteLine($"1 worker: {one:F0} samples/s   {workers} workers: {many:F0} samples/s   ratio {many / one:F2} (target >= 1.7 for 2 workers)");
        return 0;
    }
}
