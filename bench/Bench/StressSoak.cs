using System.Diagnostics;
using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Stages;
using TrainManager.Testing;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>
/// Many short <see cref="Trainer.Fit"/> runs under garbage-collection stress (collections and finalizers running all the
/// time on other threads), with every built-in extension on: the soak that shows whether training can crash on its own
/// because a native object was freed under it. Each run alternates model (MLP, CNN) and optimizer (sgd, adam, adamw),
/// trains two epochs with a checkpoint after each, and every second run resumes from its first checkpoint for a third.
/// <code>dotnet run -c Release --project bench/Bench -- soak [--runs 200] [--limit 512] [--stress on|off] [--allocators 1] [--pause-ms 1]</code>
/// Run it with <c>DOTNET_GCgen0size=0x40000</c> in the environment to make the runtime's own collections frequent too.
/// </summary>
public static class StressSoak
{
    static readonly string[] Models = ["mlp", "cnn"];
    static readonly string[] Optimizers = ["sgd", "adam", "adamw"];
    static readonly string[] AllExtensions = ["progress", "loss-plot", "gradient-plot", "tensorboard", "provenance", "leakage-check", "report"];

    public static int Run(string[] args)
    {
        var runs = int.Parse(BenchArguments.Value(args, "--runs", "200"));
        var limit = int.Parse(BenchArguments.Value(args, "--limit", "512"));
        var stress = BenchArguments.Value(args, "--stress", "on") == "on";
        var allocators = int.Parse(BenchArguments.Value(args, "--allocators", "1"));
        var pause = TimeSpan.FromMilliseconds(double.Parse(BenchArguments.Value(args, "--pause-ms", "1"), System.Globalization.CultureInfo.InvariantCulture));
        var root = Path.Combine(Path.GetTempPath(), $"trainmanager-soak-{Environment.ProcessId}");
        Console.WriteLine($"Soak: {runs} runs, {limit} training images each, GC stress {(stress ? $"on ({allocators} allocator thread(s), {pause.TotalMilliseconds} ms between forced collections)" : "off")}, " +
                          $"gen0 budget {Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "default"}");
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        using var pressure = stress ? GarbageCollectionStress.Start(allocators, pause) : null;
        for (var i = 0; i < runs; i++)
        {
            var model = Models[i % Models.Length];
            var optimizer = Optimizers[i / Models.Length % Optimizers.Length];
            var resume = i % 2 == 1;
            var runWatch = Stopwatch.StartNew();
            try
            {
                OneRun(root, i, model, optimizer, limit, resume);
                Console.WriteLine($"run {i + 1}/{runs} {model} {optimizer}{(resume ? " +resume" : "")}: ok in {runWatch.Elapsed.TotalSeconds:F1} s");
            }
            catch (Exception e)
            {
                var text = $"run {i + 1}/{runs} {model} {optimizer}{(resume ? " +resume" : "")}: FAILED after {runWatch.Elapsed.TotalSeconds:F1} s: {e.GetType().Name}: {e.Message.Split('\n')[0]}";
                failures.Add(text);
                Console.WriteLine(text);
                // Where it broke: the innermost frames name the native call whose object was freed under it.
                var inner = e;
                while (inner.InnerException is not null) inner = inner.InnerException;
                foreach (var frame in (inner.StackTrace ?? "").Split('\n').Take(4))
                    Console.WriteLine("    " + frame.Trim());
            }
        }
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        Console.WriteLine($"Soak done: {runs - failures.Count} of {runs} runs finished, {failures.Count} failed, in {watch.Elapsed.TotalMinutes:F1} min" +
                          (pressure is null ? "" : $"; {pressure.Collections} forced collections"));
        return failures.Count == 0 ? 0 : 1;
    }

    static void OneRun(string root, int index, string model, string optimizer, int limit, bool resume)
    {
        var experiment = new Experiment
        {
            Name = $"soak-{index}",
            Seed = index,
            Epochs = 2,
            BatchSize = 64,
            Threads = 1,
            Model = ExampleModels.Section(model),
            Data = new DataSection { Type = "fashion-mnist", TrainLimit = limit, TestLimit = limit / 4 },
            Optimizer = new OptimizerSection { Type = optimizer, LearningRate = optimizer == "sgd" ? 0.05 : 1e-3, Momentum = optimizer == "sgd" ? 0.9 : 0, WeightDecay = 1e-4 },
            GradientClip = 5,
            Checkpoint = new CheckpointSection { EveryEpochs = 1, Keep = 0 },
            Extensions = AllExtensions.Select(n => new ExtensionSection(n, n == "gradient-plot" ? new Dictionary<string, object?> { ["every"] = 5 } : new Dictionary<string, object?>())).ToList(),
            RunsDirectory = root,
            ResolvedHocon = $"name = soak-{index}\n",
        };
        var run = RunDirectory.Create(experiment);
        string? first;
        using (var trainer = Trainer.FromExperiment(experiment, BenchExtensions.Catalog, run, Extensions(experiment, run)))
        {
            var result = trainer.Fit();
            if (!double.IsFinite(result.TrainLoss)) throw new InvalidOperationException($"training loss is {result.TrainLoss}");
            first = trainer.Checkpoints!.List().FirstOrDefault();
        }
        if (resume)
        {
            var longer = experiment with { Epochs = 3 };
            using var resumed = Trainer.FromExperiment(longer, BenchExtensions.Catalog, run, Extensions(longer, run));
            resumed.Fit(first ?? throw new InvalidOperationException("no checkpoint was written"));
        }
        Directory.Delete(run.Path, recursive: true);
    }

    static IReadOnlyList<Extension> Extensions(Experiment experiment, RunDirectory run) =>
        BenchExtensions.Catalog.CreateExtensions(new TrainManager.Components.ExtensionContext(run.Path, experiment), BenchExtensions.Quiet);
}
