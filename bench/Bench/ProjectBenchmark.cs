using System.Diagnostics;
using System.Runtime.Loader;
using TorchSharp;
using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>
/// End-to-end: per-epoch time of <see cref="Trainer.Fit"/> for the same model class (<c>Shapes.ResidualCnn</c> of
/// examples/shapes/ShapesProject) compiled into this process against loaded from the project's own build into a load
/// context of its own, as the CLI loads a <c>code.project</c>; same data and seed, epochs interleaved, as a ratio
/// (target ≤ 1.01): a model from a training project costs nothing per batch.
/// <code>dotnet run -c Release --project bench/Bench -- project [--epochs N] [--limit N] [--threads N]</code>
/// </summary>
public static class ProjectBenchmark
{
    private sealed record Options(int Epochs, int Limit, int Threads);

    private const string Model = "residual-cnn";

    public static int Run(string[] args)
    {
        var options = Parse(args);
        torch.set_num_threads(options.Threads);
        var watch = Stopwatch.StartNew();
        var build = TrainingProject.Build(ShapesProject());
        Console.WriteLine($"Project benchmark: {Model} of {build.ProjectFile}, {options.Epochs} measured epochs (after one warm-up), " +
                          $"train limit {(options.Limit > 0 ? options.Limit : 60000)}, {options.Threads} thread(s); project built in {watch.Elapsed.TotalSeconds:F1} s");

        // Two catalogs, so both can name the model residual-cnn.
        var catalogs = new (string Name, ComponentCatalog Catalog, bool Isolated)[]
        {
            ("compiled in", BenchExtensions.Catalog.WithTypes(typeof(Shapes.ResidualCnn)), false),
            ("loaded from the project", BenchExtensions.Catalog.With(build.Load()), true),
        };
        // The bench references the project too, so a loader that fell back to the default context would measure the
        // compiled-in class twice: say where each class comes from, and stop if it is not where it should be.
        foreach (var (name, catalog, isolated) in catalogs)
        {
            var type = catalog.Find(ComponentKind.Model, Model).Type;
            var context = AssemblyLoadContext.GetLoadContext(type.Assembly)!;
            Console.WriteLine($"{name}: {type.FullName} from {type.Assembly.Location} in load context '{context.Name}'");
            if ((context != AssemblyLoadContext.Default) != isolated)
            {
                Console.Error.WriteLine($"{name}: expected {(isolated ? "a load context of its own" : "the default load context")}; the benchmark would not measure what it claims.");
                return 1;
            }
        }

        // Within a process's first minute the trainer created first ran slower in either role (the process warming up,
        // not the load context), so the pair is measured three times, in alternating order: the first is reported as a
        // warm-up, the ratios of the other two (one in each order) are combined by their geometric mean.
        var ratios = new List<double>();
        foreach (var order in new[] { new[] { 0, 1 }, new[] { 1, 0 }, new[] { 0, 1 } })
        {
            var fits = new List<(Trainer Trainer, TrainingBenchmark.EpochGate Gate)>();
            var runs = new List<RunDirectory>();
            foreach (var index in order)
            {
                var experiment = Experiment(options);
                var run = RunDirectory.Create(experiment);
                var gate = new TrainingBenchmark.EpochGate();
                fits.Add((Trainer.FromExperiment(experiment, catalogs[index].Catalog, run, [gate]), gate));
                runs.Add(run);
            }
            var measured = InterleavedFits.Measure(fits, options.Epochs);
            foreach (var (trainer, _) in fits) trainer.Dispose();
            foreach (var run in runs) Directory.Delete(run.Path, recursive: true);

            var times = new List<double>[catalogs.Length];
            for (var i = 0; i < order.Length; i++) times[order[i]] = measured[i];
            Console.WriteLine($"{(ratios.Count == 0 ? "warm-up, " : "")}created {catalogs[order[0]].Name} first:");
            for (var i = 0; i < catalogs.Length; i++)
                Console.WriteLine($"  {catalogs[i].Name}: {Statistics.MedianEpoch(times[i])}");
            var ratio = Statistics.MedianPairedRatio(times[1], times[0]);
            Console.WriteLine($"  median paired ratio loaded/compiled = {ratio:F3}");
            ratios.Add(ratio);
        }
        Console.WriteLine($"ratio loaded/compiled after the warm-up, both orders (geometric mean) = {Math.Sqrt(ratios[1] * ratios[2]):F3} (target <= 1.01)");
        return 0;
    }

    /// <summary>Fashion-MNIST through the residual CNN: it reshapes the flat 784 pixels to 28×28 itself.</summary>
    private static Experiment Experiment(Options options) => new()
    {
        Name = "bench-project",
        Seed = 1,
        Epochs = options.Epochs + 1,
        BatchSize = 128,
        Threads = options.Threads,
        Model = new ModelSection(Model, new Dictionary<string, object?> { ["image_size"] = 28, ["width"] = 16, ["blocks"] = 2, ["classes"] = 10 }),
        Data = new DataSection { Type = "fashion-mnist", TrainLimit = options.Limit, TestLimit = options.Limit > 0 ? options.Limit / 6 : 0 },
        Checkpoint = new CheckpointSection { EveryEpochs = 0, Keep = 1 },
        RunsDirectory = Path.Combine(Path.GetTempPath(), "trainmanager-bench-runs"),
        ResolvedHocon = "name = bench-project\n",
    };

    /// <summary>examples/shapes/ShapesProject of the checkout this bench was built from (the folder with TrainManager.sln).</summary>
    private static string ShapesProject()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TrainManager.sln")))
                return Path.Combine(dir.FullName, "examples", "shapes", "ShapesProject");
        throw new DirectoryNotFoundException($"No TrainManager.sln above {AppContext.BaseDirectory}.");
    }

    private static Options Parse(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        return new Options(int.Parse(Value("--epochs", "5")), int.Parse(Value("--limit", "6000")), int.Parse(Value("--threads", "2")));
    }
}
