using System.Diagnostics;
using TorchSharp;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Bench;

/// <summary>
/// End-to-end: per-epoch time of <see cref="Trainer.Fit"/> against a hand-written TorchSharp loop for the same
/// model, data and seed, measured in the same process, interleaved, as ratios. Also resident memory per epoch.
/// <code>dotnet run -c Release --project bench/Bench -- training [--model mlp|cnn|both] [--epochs N] [--limit N] [--threads N] [--extensions a,b] [--memory-epochs N]</code>
/// </summary>
public static class TrainingBenchmark
{
    private sealed record Options(string[] Models, int Epochs, int Limit, int Threads, string[] Extensions, int MemoryEpochs);

    public static Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        torch.set_num_threads(options.Threads);
        Console.WriteLine($"Training benchmark: models {string.Join(",", options.Models)}, {options.Epochs} measured epochs (after one warm-up), " +
                          $"train limit {(options.Limit > 0 ? options.Limit : 60000)}, {options.Threads} thread(s); extensions for the second Fit: [{string.Join(", ", options.Extensions)}]");
        foreach (var model in options.Models)
        {
            var experiment = ExperimentFor(model, options);
            using var data = DataSources.Open(experiment, BenchExtensions.Catalog);
            var (train, test) = (data.Train, data.Test);
            // Epochs are interleaved one by one (hand, Fit, Fit+extensions, hand, ...), so drifts of the machine hit
            // all three alike, and each ratio is taken within one round (one epoch of each) before the median over rounds.
            var (hand, bare, withExtensions) = InterleavedEpochs(experiment, train, test,
                run => BenchExtensions.Create(options.Extensions, experiment, run.Path), options.Epochs);
            var h = Statistics.Median(hand);
            var b = Statistics.Median(bare);
            var e = Statistics.Median(withExtensions);
            var ratioBare = Statistics.MedianPairedRatio(bare, hand);
            var ratioExtensions = Statistics.MedianPairedRatio(withExtensions, hand);
            Console.WriteLine($"{model}: {hand.Count} interleaved epochs each; median epoch  hand-written {h:F3} s   Fit {b:F3} s   Fit+extensions {e:F3} s");
            Console.WriteLine($"{model}: median paired ratio Fit/hand = {ratioBare:F3} (target <= 1.02)   Fit+extensions/hand = {ratioExtensions:F3} (target <= 1.05)");
            if (options.MemoryEpochs > 0) Memory(model, options, experiment);
        }
        return Task.FromResult(0);
    }

    private static Experiment ExperimentFor(string model, Options options) => new()
    {
        Name = $"bench-{model}",
        Seed = 1,
        Epochs = options.Epochs,
        BatchSize = 128,
        Threads = options.Threads,
        Model = ExampleModels.Section(model),
        Data = new DataSection { Type = "fashion-mnist", TrainLimit = options.Limit, TestLimit = options.Limit > 0 ? options.Limit / 6 : 0 },
        Checkpoint = new CheckpointSection { EveryEpochs = 0, Keep = 1 },
        RunsDirectory = Path.Combine(Path.GetTempPath(), "trainmanager-bench-runs"),
        ResolvedHocon = $"name = bench-{model}\n",
    };

    /// <summary>Lets a Fit running on its own thread take exactly one epoch at a time, and times it.</summary>
    internal sealed class EpochGate : Extension
    {
        private readonly SemaphoreSlim _go = new(0);
        private readonly SemaphoreSlim _done = new(0);
        private Stopwatch? _watch;
        public double LastSeconds;
        public override int Order => int.MinValue;
        public void PreEpoch() { _go.Wait(); _watch = Stopwatch.StartNew(); }
        public void PostEpoch() { LastSeconds = _watch!.Elapsed.TotalSeconds; _done.Release(); }
        public double RunOneEpoch() { _go.Release(); _done.Wait(); return LastSeconds; }
    }

    private static (List<double> Hand, List<double> Bare, List<double> WithExtensions) InterleavedEpochs(
        Experiment experiment, IDataset train, IDataset test, Func<RunDirectory, IReadOnlyList<Extension>> extensions, int epochs)
    {
        var long_ = experiment with { Epochs = epochs + 1 };
        var bareGate = new EpochGate();
        var extGate = new EpochGate();
        var bareRun = RunDirectory.Create(long_);
        var extRun = RunDirectory.Create(long_);
        var bareTrainer = Trainer.FromExperiment(long_, BenchExtensions.Catalog, bareRun, [bareGate]);
        var extTrainer = Trainer.FromExperiment(long_, BenchExtensions.Catalog, extRun, [extGate, .. extensions(extRun)]);
        var threads = new[] { new Thread(() => bareTrainer.Fit()), new Thread(() => extTrainer.Fit()) };
        foreach (var t in threads) t.Start();
        using var hand = new HandWrittenTrainer(long_, train, test);
        List<double> handTimes = [], bareTimes = [], extTimes = [];
        for (var epoch = 0; epoch <= epochs; epoch++)
        {
            var h = hand.RunEpoch(epoch);
            var b = bareGate.RunOneEpoch();
            var e = extGate.RunOneEpoch();
            if (epoch == 0) continue; // warm-up: JIT, allocator, caches
            handTimes.Add(h);
            bareTimes.Add(b);
            extTimes.Add(e);
        }
        foreach (var t in threads) t.Join();
        bareTrainer.Dispose();
        extTrainer.Dispose();
        Directory.Delete(bareRun.Path, recursive: true);
        Directory.Delete(extRun.Path, recursive: true);
        return (handTimes, bareTimes, extTimes);
    }

    /// <summary>What a person writes by hand: the same model, optimizer, batches and per-epoch evaluation.</summary>
    private sealed class HandWrittenTrainer : IDisposable
    {
        private readonly Experiment _experiment;
        private readonly IDataset _train, _test;
        private readonly Models.ModelInstance _model;
        private readonly optim.Optimizer _optimizer;
        private readonly EpochSampler _sampler;

        public HandWrittenTrainer(Experiment experiment, IDataset train, IDataset test)
        {
            (_experiment, _train, _test) = (experiment, train, test);
            TrainManager.Runtime.CpuRandomState.Seed(experiment.Seed);
            _model = BenchExtensions.Catalog.Models.Create(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
            _optimizer = optim.Adam(_model.Module.parameters(), experiment.Optimizer.LearningRate);
            _sampler = new EpochSampler(train.Count, experiment.BatchSize, experiment.Seed);
        }

        public double RunEpoch(int epoch)
        {
            var module = _model.Module;
            var watch = Stopwatch.StartNew();
            module.train();
            double lossSum = 0;
            foreach (var indices in _sampler.Batches(epoch))
            {
                using var scope = NewDisposeScope();
                using var batch = _train.GetBatch(indices);
                var loss = nn.functional.cross_entropy(module.call(batch.Input), batch.Target);
                loss.backward();
                _optimizer.step();
                _optimizer.zero_grad();
                lossSum += loss.item<float>();
            }
            module.eval();
            long correct = 0;
            double testLoss = 0;
            using (no_grad())
                for (long start = 0; start < _test.Count; start += _experiment.BatchSize * 4)
                {
                    using var scope = NewDisposeScope();
                    var indices = Enumerable.Range(0, (int)Math.Min(_experiment.BatchSize * 4, _test.Count - start)).Select(i => start + i).ToArray();
                    using var batch = _test.GetBatch(indices);
                    var output = module.call(batch.Input);
                    testLoss += nn.functional.cross_entropy(output, batch.Target, reduction: nn.Reduction.Sum).item<float>();
                    correct += output.argmax(1).eq(batch.Target).sum().item<long>();
                }
            GC.KeepAlive(lossSum + correct + testLoss);
            return watch.Elapsed.TotalSeconds;
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _model.Dispose();
        }
    }

    private sealed class MemoryProbe : Extension
    {
        public readonly List<double> ResidentMiB = new();
        public void PostEpoch()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            ResidentMiB.Add(self.WorkingSet64 / (1024.0 * 1024.0));
        }
    }

    private static void Memory(string model, Options options, Experiment experiment)
    {
        var probe = new MemoryProbe();
        var longRun = experiment with { Epochs = options.MemoryEpochs };
        var run = RunDirectory.Create(longRun);
        using (var trainer = Trainer.FromExperiment(longRun, BenchExtensions.Catalog, run, [probe, .. BenchExtensions.Create(options.Extensions, longRun, run.Path)]))
            trainer.Fit();
        Directory.Delete(run.Path, recursive: true);
        var rss = probe.ResidentMiB;
        Console.WriteLine($"{model}: resident memory per epoch (MiB): {string.Join(" ", rss.Select(r => r.ToString("F0")))}");
        var settled = rss[Math.Min(2, rss.Count - 1)];
        Console.WriteLine($"{model}: memory growth from epoch 3 to epoch {rss.Count}: {rss[^1] - settled:F1} MiB ({(rss[^1] / settled - 1) * 100:F1}%)");
    }


    private static Options Parse(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        var model = Value("--model", "both");
        return new Options(
            model == "both" ? ["mlp", "cnn"] : [model],
            int.Parse(Value("--epochs", "6")),
            int.Parse(Value("--limit", "0")),
            int.Parse(Value("--threads", "2")),
            Value("--extensions", "progress").Split(',', StringSplitOptions.RemoveEmptyEntries),
            int.Parse(Value("--memory-epochs", "10")));
    }
}
