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
/// <code>dotnet run -c Release --project bench/Bench -- training [--model mlp|cnn|both] [--epochs N] [--limit N] [--threads N] [--extensions a,b]</code>
/// </summary>
public static class TrainingBenchmark
{
    private sealed record Options(string[] Models, int Epochs, int Limit, int Threads, string[] Extensions, int Rounds, int MemoryEpochs);

    public static Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        torch.set_num_threads(options.Threads);
        Console.WriteLine($"Training benchmark: models {string.Join(",", options.Models)}, {options.Epochs} epochs a round, {options.Rounds} rounds, " +
                          $"train limit {(options.Limit > 0 ? options.Limit : 60000)}, {options.Threads} thread(s); extensions for the second Fit: [{string.Join(", ", options.Extensions)}]");
        foreach (var model in options.Models)
        {
            var experiment = ExperimentFor(model, options);
            var (train, test) = DataSources.Load(experiment.Data);
            var hand = new List<double>();
            var bare = new List<double>();
            var withExtensions = new List<double>();
            for (var round = 0; round < options.Rounds; round++)
            {
                // Interleaved, so drifts of the machine (thermal, other load) hit all three alike.
                hand.AddRange(HandWrittenLoop(experiment, train, test).Skip(1));
                bare.AddRange(FitEpochs(experiment, _ => []).Skip(1));
                withExtensions.AddRange(FitEpochs(experiment, run => BenchExtensions.Create(options.Extensions, experiment, run.Path)).Skip(1));
            }
            var h = Median(hand);
            var b = Median(bare);
            var e = Median(withExtensions);
            Console.WriteLine($"{model}: median epoch  hand-written {h:F3} s   Fit {b:F3} s   Fit+extensions {e:F3} s");
            Console.WriteLine($"{model}: ratio Fit/hand = {b / h:F3} (target <= 1.02)   Fit+extensions/hand = {e / h:F3} (target <= 1.05)");
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
        Model = model == "cnn"
            ? new ModelSection("cnn", new Dictionary<string, object?> { ["channels"] = new[] { 32, 64 }, ["hidden"] = 128, ["dropout"] = 0.25 })
            : new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 256, 128 }, ["dropout"] = 0.2 }),
        Data = new DataSection { Dataset = "fashion-mnist", TrainLimit = options.Limit, TestLimit = options.Limit > 0 ? options.Limit / 6 : 0 },
        Checkpoint = new CheckpointSection { EveryEpochs = 0, Keep = 1 },
        RunsDirectory = Path.Combine(Path.GetTempPath(), "trainmanager-bench-runs"),
        ResolvedHocon = $"name = bench-{model}\n",
    };

    /// <summary>What a person writes by hand: the same model, optimizer, batches and per-epoch evaluation.</summary>
    private static List<double> HandWrittenLoop(Experiment experiment, IDataset train, IDataset test)
    {
        torch.manual_seed(experiment.Seed);
        using var model = ModelRegistry.WithBuiltIns().Create(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
        var module = model.Module;
        using var optimizer = optim.Adam(module.parameters(), experiment.Optimizer.LearningRate);
        var sampler = new EpochSampler(train.Count, experiment.BatchSize, experiment.Seed);
        var times = new List<double>();
        for (var epoch = 0; epoch < experiment.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            module.train();
            double lossSum = 0;
            foreach (var indices in sampler.Batches(epoch))
            {
                using var scope = NewDisposeScope();
                using var batch = train.GetBatch(indices);
                var loss = nn.functional.cross_entropy(module.call(batch.Input), batch.Target);
                loss.backward();
                optimizer.step();
                optimizer.zero_grad();
                lossSum += loss.item<float>();
            }
            // A person reports the test loss and accuracy after each epoch, as Fit does.
            module.eval();
            long correct = 0;
            double testLoss = 0;
            using (no_grad())
                for (long start = 0; start < test.Count; start += experiment.BatchSize * 4)
                {
                    using var scope = NewDisposeScope();
                    var indices = Enumerable.Range(0, (int)Math.Min(experiment.BatchSize * 4, test.Count - start)).Select(i => start + i).ToArray();
                    using var batch = test.GetBatch(indices);
                    var output = module.call(batch.Input);
                    testLoss += nn.functional.cross_entropy(output, batch.Target, reduction: nn.Reduction.Sum).item<float>();
                    correct += output.argmax(1).eq(batch.Target).sum().item<long>();
                }
            times.Add(watch.Elapsed.TotalSeconds);
            GC.KeepAlive(lossSum + correct + testLoss);
        }
        return times;
    }

    private sealed class EpochTimer : Extension
    {
        private Stopwatch? _watch;
        public readonly List<double> Seconds = new();
        public override int Order => int.MinValue;
        public void PreEpoch() => _watch = Stopwatch.StartNew();
        public void PostEpoch() => Seconds.Add(_watch!.Elapsed.TotalSeconds);
    }

    private static List<double> FitEpochs(Experiment experiment, Func<RunDirectory, IReadOnlyList<Extension>> extensions)
    {
        var timer = new EpochTimer();
        var run = RunDirectory.Create(experiment);
        using (var trainer = Trainer.FromExperiment(experiment, run, [timer, .. extensions(run)]))
            trainer.Fit();
        Directory.Delete(run.Path, recursive: true);
        return timer.Seconds;
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
        using (var trainer = Trainer.FromExperiment(longRun, run, [probe, .. BenchExtensions.Create(options.Extensions, longRun, run.Path)]))
            trainer.Fit();
        Directory.Delete(run.Path, recursive: true);
        var rss = probe.ResidentMiB;
        Console.WriteLine($"{model}: resident memory per epoch (MiB): {string.Join(" ", rss.Select(r => r.ToString("F0")))}");
        var settled = rss[Math.Min(2, rss.Count - 1)];
        Console.WriteLine($"{model}: memory growth from epoch 3 to epoch {rss.Count}: {rss[^1] - settled:F1} MiB ({(rss[^1] / settled - 1) * 100:F1}%)");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static Options Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var model = Value("--model", "both");
        return new Options(
            model == "both" ? ["mlp", "cnn"] : [model],
            int.Parse(Value("--epochs", "3")),
            int.Parse(Value("--limit", "0")),
            int.Parse(Value("--threads", "2")),
            Value("--extensions", "progress").Split(',', StringSplitOptions.RemoveEmptyEntries),
            int.Parse(Value("--rounds", "2")),
            int.Parse(Value("--memory-epochs", "10")));
    }
}
