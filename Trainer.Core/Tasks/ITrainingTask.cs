using static TorchSharp.torch;

namespace TrainManager.Tasks;

/// <summary>
/// What a model is trained to do: the loss the trainer minimizes and the metrics it reports. The training loop knows
/// only this contract (as fastai's Learner knows only its loss function and metrics), so a new task is a new class,
/// not a change to the loop. Mark an implementation <c>[Component("name")]</c> to name it in an experiment:
/// <c>task { type = name, metrics = [...] }</c>.
/// </summary>
/// <remarks>
/// The trainer calls <see cref="PerSampleLoss"/> and <see cref="Loss"/> inside the batch's dispose scope on the thread
/// that runs the stage: the tensors they return are released with the batch.
/// </remarks>
public interface ITrainingTask
{
    /// <summary>One loss per sample, shape [batch]: what hooks reading <c>per_sample_loss</c> see, and what evaluation
    /// sums over a split. Its mean must equal <see cref="Loss"/>.</summary>
    Tensor PerSampleLoss(Tensor prediction, Tensor targets);

    /// <summary>The batch's mean loss, the tensor backward runs on. Override when a fused reduction is cheaper than the
    /// per-sample losses.</summary>
    Tensor Loss(Tensor prediction, Tensor targets) => PerSampleLoss(prediction, targets).mean();

    /// <summary>The metrics this task can report; the first is the default.</summary>
    IReadOnlyList<MetricDefinition> Metrics { get; }

    /// <summary>The metric named <paramref name="name"/>, or null. Override to accept a family of names
    /// (<c>top3</c>, <c>f1-7</c>) that <see cref="Metrics"/> cannot list one by one.</summary>
    MetricDefinition? FindMetric(string name) => Metrics.FirstOrDefault(m => m.Name == name);

    /// <summary>The metrics reported when the experiment names none.</summary>
    IReadOnlyList<string> DefaultMetrics => Metrics.Count > 0 ? [Metrics[0].Name] : [];
}

/// <summary>Whether a metric is better high (accuracy, R²) or low (an error).</summary>
public enum MetricGoal
{
    Maximize,
    Minimize,
}

/// <summary>A metric a task offers: its name in experiments and in reports (<c>val_&lt;name&gt;</c>), which way is
/// better, and a factory for a fresh accumulator, one per pass over a split.</summary>
/// <param name="Pattern">How the name reads in listings when it stands for a family (<c>top&lt;k&gt;</c>); null: the name.</param>
public sealed record MetricDefinition(string Name, Func<IMetric> Create, MetricGoal Goal = MetricGoal.Maximize, string? Pattern = null)
{
    /// <summary>Whether <paramref name="candidate"/> is better than <paramref name="current"/>; a finite value beats NaN.</summary>
    public static bool Improves(MetricGoal goal, double candidate, double current) =>
        double.IsFinite(candidate) && (!double.IsFinite(current) || (goal == MetricGoal.Maximize ? candidate > current : candidate < current));
}

/// <summary>
/// Accumulates a metric over a whole split, batch by batch, so the value is exact for the split rather than a mean of
/// batch values: keep counts and sums (on the CPU, in doubles or longs) and divide at the end. A user's metric is a
/// small class implementing these two members.
/// </summary>
public interface IMetric
{
    /// <summary>Adds one batch. <paramref name="prediction"/> and <paramref name="targets"/> are on the model's device
    /// and are released with the batch: read out the numbers to keep, do not keep the tensors.</summary>
    void Update(Tensor prediction, Tensor targets);

    /// <summary>The metric over every batch added so far; NaN when nothing was added.</summary>
    double Compute();
}
