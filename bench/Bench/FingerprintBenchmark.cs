using System.Diagnostics;
using TrainManager.Data;
using TrainManager.Experiments;

namespace TrainManager.Bench;

/// <summary>
/// What <see cref="DatasetFingerprint.Measure"/> costs a submission: the whole call (the source opened, its files
/// fingerprinted, the splits disposed), and the fingerprint alone over the same files, each the median of a few runs
/// after one that warms the page cache and the JIT.
/// <code>dotnet run -c Release --project bench/Bench -- fingerprint [EXPERIMENT.hocon] [--runs N]</code>
/// </summary>
public static class FingerprintBenchmark
{
    public static int Run(string[] args)
    {
        var file = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine("examples", "fashion-mnist-mlp.hocon");
        var runsAt = Array.IndexOf(args, "--runs");
        var runs = runsAt >= 0 ? int.Parse(args[runsAt + 1], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var experiment = ExperimentLoader.Load(file);

        var cold = Stopwatch.StartNew();
        var fingerprint = DatasetFingerprint.Measure(experiment, BenchExtensions.Catalog);
        cold.Stop();
        var measure = Median(runs, () => DatasetFingerprint.Measure(experiment, BenchExtensions.Catalog));
        var reads = new DataReadLog();
        var source = BenchExtensions.Catalog.CreateDataSource(experiment.Data, DataContext.For(experiment, runDirectory: null) with { Reads = reads });
        using (source.Open()) { }
        var hashing = Median(runs, () => DatasetFingerprint.Of(source, reads));

        Console.WriteLine($"Fingerprint of {file}: {fingerprint.Describe()}");
        Console.WriteLine($"Measure, first call: {cold.Elapsed.TotalMilliseconds:F0} ms; median of {runs} more: {measure:F0} ms " +
                          $"(of which fingerprinting the files alone: {hashing:F1} ms; the rest is opening the source)");
        return 0;
    }

    static double Median(int runs, Action action)
    {
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
