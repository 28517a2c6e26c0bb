using TrainManager.Experiments;

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
}

/// <summary>The models of <c>examples/fashion-mnist-cnn.hocon</c> and <c>examples/fashion-mnist-mlp.hocon</c>.</summary>
internal static class ExampleModels
{
    public static ModelSection Section(string model) => model == "cnn"
        ? new ModelSection("cnn", new Dictionary<string, object?> { ["channels"] = new[] { 32, 64 }, ["hidden"] = 128, ["dropout"] = 0.25 })
        : new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 256, 128 }, ["dropout"] = 0.2 });
}
