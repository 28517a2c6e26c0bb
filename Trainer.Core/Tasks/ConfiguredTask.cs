using TrainManager.Experiments;
using static TorchSharp.torch;

namespace TrainManager.Tasks;

/// <summary>
/// A task with the metrics an experiment asks of it and the metric the best checkpoint follows. Made once per run,
/// before anything is trained, so a metric the task does not report is refused up front.
/// </summary>
public sealed class ConfiguredTask
{
    public const string Validation = "val";
    public const string Test = "test";

    ConfiguredTask(string type, ITrainingTask task, IReadOnlyList<MetricDefinition> metrics, BestMetric best)
    {
        Type = type;
        Task = task;
        Metrics = metrics;
        Best = best;
    }

    public string Type { get; }
    public ITrainingTask Task { get; }

    /// <summary>The metrics reported on every evaluated split, in the experiment's order.</summary>
    public IReadOnlyList<MetricDefinition> Metrics { get; }

    /// <summary>The metric the best checkpoint follows, as the experiment names it (bare or with a split prefix).</summary>
    public BestMetric Best { get; }

    /// <inheritdoc cref="ITrainingTask.Loss"/>
    public Tensor Loss(Tensor prediction, Tensor targets) => Task.Loss(prediction, targets);

    /// <inheritdoc cref="ITrainingTask.PerSampleLoss"/>
    public Tensor PerSampleLoss(Tensor prediction, Tensor targets) => Task.PerSampleLoss(prediction, targets);

    /// <summary>Fresh accumulators for one pass over a split.</summary>
    public IReadOnlyList<(string Name, IMetric Metric)> NewAccumulators() => Metrics.Select(m => (m.Name, m.Create())).ToList();

    /// <summary>Checks <paramref name="taskSection"/>'s metrics and <paramref name="checkpoint"/>'s best against what
    /// <paramref name="task"/> reports.</summary>
    /// <exception cref="ExperimentException">An unknown metric, or a best metric that is not reported; the message
    /// names the key and lists what may be written.</exception>
    public static ConfiguredTask Create(ITrainingTask task, TaskSection taskSection, CheckpointSection checkpoint)
    {
        var names = taskSection.Metrics.Count > 0 ? taskSection.Metrics : task.DefaultMetrics;
        var metrics = new List<MetricDefinition>();
        foreach (var name in names)
        {
            var metric = task.FindMetric(name) ?? throw new ExperimentException(
                $"'task.metrics' names '{name}', which task '{taskSection.Type}' does not report.{Stages.DidYouMean.Hint(name, task.Metrics.Select(m => m.Name).ToList())} " +
                $"Its metrics: {Listing(task)}. Write e.g. metrics = [{task.DefaultMetrics.FirstOrDefault() ?? "..."}].", keyPath: "task.metrics");
            if (metrics.All(m => m.Name != metric.Name)) metrics.Add(metric);
        }
        return new ConfiguredTask(taskSection.Type, task, metrics, BestMetric.Resolve(checkpoint, metrics));
    }

    /// <summary>The names <paramref name="task"/> accepts, families as their pattern (<c>top&lt;k&gt;</c>).</summary>
    public static string Listing(ITrainingTask task) => string.Join(", ", task.Metrics.Select(m => m.Pattern ?? m.Name));
}

/// <summary>
/// What the best checkpoint follows: a metric of the per-epoch evaluation (<see cref="Metric"/> is <c>loss</c> or one of
/// the task's metrics), which way is better, and the split when the experiment named one (<c>val_accuracy</c>).
/// </summary>
public sealed record BestMetric(string Metric, MetricGoal Goal, string? Split)
{
    /// <summary>The key in an epoch's metrics when the per-epoch evaluation runs on <paramref name="split"/>.</summary>
    public string KeyFor(string split) => $"{split}_{Metric}";

    public string Mode => Goal == MetricGoal.Maximize ? "max" : "min";

    public static BestMetric Resolve(CheckpointSection checkpoint, IReadOnlyList<MetricDefinition> metrics)
    {
        var named = checkpoint.Best ?? metrics.FirstOrDefault()?.Name ?? "loss";
        var (split, metric) = named switch
        {
            _ when named.StartsWith(ConfiguredTask.Validation + "_", StringComparison.Ordinal) => (ConfiguredTask.Validation, named[4..]),
            _ when named.StartsWith(ConfiguredTask.Test + "_", StringComparison.Ordinal) => (ConfiguredTask.Test, named[5..]),
            _ => ((string?)null, named),
        };
        MetricGoal goal;
        if (metric == "loss") goal = MetricGoal.Minimize;
        else if (metrics.FirstOrDefault(m => m.Name == metric) is { } definition) goal = definition.Goal;
        else
            throw new ExperimentException(
                $"'checkpoint.best' is '{named}', which this run does not report. Write loss or one of task.metrics " +
                $"({string.Join(", ", metrics.Select(m => m.Name))}), optionally with the split: e.g. best = val_{metrics.FirstOrDefault()?.Name ?? "loss"}.",
                keyPath: "checkpoint.best");
        goal = checkpoint.BestMode switch
        {
            null => goal,
            "max" => MetricGoal.Maximize,
            "min" => MetricGoal.Minimize,
            var other => throw new ExperimentException($"'checkpoint.best-mode' must be max or min, but is \"{other}\".", keyPath: "checkpoint.best-mode"),
        };
        return new BestMetric(metric, goal, split);
    }
}
