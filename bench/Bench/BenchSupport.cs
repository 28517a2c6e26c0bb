using System.Globalization;
using TrainManager.Experiments;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>What every benchmark here reads from its command line: <c>--name value</c> pairs.</summary>
internal static class BenchArguments
{
    public static string Value(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}

internal static class Statistics
{
    /// <summary>The median, robust to the odd slow round a shared machine produces; NaN for no values.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The median of the ratios taken within each round (x[i] / y[i]), so a round slowed for all counts once, not twice.</summary>
    public static double MedianPairedRatio(IEnumerable<double> x, IEnumerable<double> y) => Median(x.Zip(y, (a, b) => a / b));

    /// <summary>"median epoch 1.234 s (1.20 1.23 ...)": the median and every measured epoch, for the reader to judge the spread.</summary>
    public static string MedianEpoch(IReadOnlyList<double> seconds) =>
        $"median epoch {Median(seconds):F3} s ({string.Join(" ", seconds.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))})";
}

/// <summary>Fits on threads of their own, let through one epoch of each in turn, so a drift of the machine hits all alike;
/// every other round in reverse order, so going first (or last) in a round favours none of them.</summary>
internal static class InterleavedFits
{
    /// <summary>The seconds of <paramref name="epochs"/> rounds after one warm-up round (JIT, allocator, caches), one list per
    /// fit. Each trainer must have <paramref name="epochs"/> + 1 epochs to run and its gate among its extensions.</summary>
    public static List<double>[] Measure(IReadOnlyList<(Trainer Trainer, TrainingBenchmark.EpochGate Gate)> fits, int epochs)
    {
        var threads = fits.Select(f => new Thread(() => f.Trainer.Fit())).ToArray();
        foreach (var thread in threads) thread.Start();
        var times = fits.Select(_ => new List<double>()).ToArray();
        for (var epoch = 0; epoch <= epochs; epoch++)
        {
            var order = epoch % 2 == 0 ? Enumerable.Range(0, fits.Count) : Enumerable.Range(0, fits.Count).Reverse();
            var round = order.Select(i => (Fit: i, Seconds: fits[i].Gate.RunOneEpoch())).ToList();
            if (epoch == 0) continue;
            foreach (var (fit, seconds) in round) times[fit].Add(seconds);
        }
        foreach (var thread in threads) thread.Join();
        return times;
    }
}

/// <summary>The models of <c>examples/fashion-mnist-cnn.hocon</c> and <c>examples/fashion-mnist-mlp.hocon</c>.</summary>
internal static class ExampleModels
{
    public static ModelSection Section(string model) => model == "cnn"
        ? new ModelSection("cnn", new Dictionary<string, object?> { ["channels"] = new[] { 32, 64 }, ["hidden"] = 128, ["dropout"] = 0.25 })
        : new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 256, 128 }, ["dropout"] = 0.2 });
}
