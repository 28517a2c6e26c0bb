using System.Text.RegularExpressions;
using Akka.Configuration;

namespace TrainManager.Extensions.Report;

/// <summary>A file or folder of the run directory that the report links to, by its path relative to the directory.</summary>
public sealed record RunFile(string RelativePath, string Description);

/// <summary>
/// What a run directory holds that the report shows: the pictures under <c>plots/</c>, the files and folders a person
/// opens next (experiment, instantiation parameters, metrics, TensorBoard events, provenance, checkpoints), the
/// per-epoch metrics log and the experiment's name. Only what exists is listed.
/// </summary>
public sealed partial record RunDirectoryContents(
    string? ExperimentName,
    IReadOnlyList<EpochMetrics> EpochMetrics,
    IReadOnlyList<string> Pictures,
    IReadOnlyList<RunFile> Files)
{
    /// <summary>The bundle of the training project the run trained with on a cluster (<c>code/bundle.json</c>); null
    /// when it used none, or when the record cannot be read (the file is still linked for a person to open).</summary>
    public TrainManager.Training.RecordedBundle? Bundle { get; init; }

    private static readonly RunFile[] Known =
    [
        new("experiment.hocon", "the experiment as run: overrides applied, every default spelled out"),
        new("instantiation.json", "the parameters the model, optimizer and data were built with"),
        new("metrics/epochs.jsonl", "metrics per epoch (JSON lines)"),
        new("metrics/batches.jsonl", "loss and learning rate per batch (JSON lines)"),
        new("plots/worst-samples.csv", "the training samples with the highest loss"),
        new("tb/", "TensorBoard events: tensorboard --logdir tb"),
        new("provenance/", "the code the run was trained with"),
        new("code/bundle.json", "the bundle of the training project the run trained with on the cluster"),
        new("code/bin/", "the build of the training project the run trained with"),
        new("checkpoints/", "model and optimizer checkpoints"),
    ];

    public static RunDirectoryContents Read(string runDirectory) => new(
        ReadExperimentName(Path.Combine(runDirectory, "experiment.hocon")),
        EpochMetricsFile.Read(Path.Combine(runDirectory, "metrics", "epochs.jsonl")),
        FindPictures(Path.Combine(runDirectory, "plots")),
        Known.Where(f => f.RelativePath.EndsWith('/')
            ? Directory.Exists(Path.Combine(runDirectory, f.RelativePath))
            : File.Exists(Path.Combine(runDirectory, f.RelativePath))).ToArray())
    {
        Bundle = ReadBundle(runDirectory),
    };

    private static TrainManager.Training.RecordedBundle? ReadBundle(string runDirectory)
    {
        try
        {
            return TrainManager.Training.RecordedBundle.Read(runDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Paths relative to the run directory (<c>plots/loss-batches.png</c>): loss pictures first, then
    /// gradient norms, then histograms by step, then any others by name.</summary>
    private static IReadOnlyList<string> FindPictures(string plots)
    {
        if (!Directory.Exists(plots)) return [];
        return Directory.EnumerateFiles(plots, "*.png")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => !name.StartsWith('.'))   // a drawing still being written is a hidden temporary file
            .OrderBy(Group).ThenBy(HistogramStep).ThenBy(name => name, StringComparer.Ordinal)
            .Select(name => $"plots/{name}")
            .ToArray();

        static int Group(string name) =>
            name.StartsWith("loss-", StringComparison.Ordinal) ? 0 : name.StartsWith("gradients-norms", StringComparison.Ordinal) ? 1
            : name.StartsWith("gradients-", StringComparison.Ordinal) ? 2 : 3;
        static long HistogramStep(string name) =>
            StepNumber().Match(name) is { Success: true } m && long.TryParse(m.Groups[1].Value, out var step) ? step : -1;
    }

    private static string? ReadExperimentName(string hoconFile)
    {
        if (!File.Exists(hoconFile)) return null;
        try
        {
            var name = ConfigurationFactory.ParseString(File.ReadAllText(hoconFile)).GetString("name", null);
            return string.IsNullOrWhiteSpace(name) ? null : name;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ConfigurationException or FormatException)
        {
            // The report still has the run id; a damaged experiment file is linked below for a person to read.
            return null;
        }
    }

    [GeneratedRegex(@"-step-(\d+)\.png$")]
    private static partial Regex StepNumber();
}
