using TorchSharp.Modules;
using TrainManager.Experiments;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Training;

/// <summary>Builds TorchSharp optimizers and schedules from settings, validating them with messages that say what to change.</summary>
public static class OptimizerFactory
{
    public static readonly IReadOnlyList<string> OptimizerNames = ["sgd", "adam", "adamw"];

    /// <summary>Adam's and AdamW's epsilon: PyTorch's default, not an experiment setting.</summary>
    public const double AdamEpsilon = 1e-8;
    public static readonly IReadOnlyList<string> SchedulerNames = ["none", "step", "cosine"];

    /// <summary>
    /// The optimizer over <paramref name="parameters"/>. Returns <see cref="OptimizerHelper"/>, the TorchSharp base
    /// that can save and load its state (see <c>CheckpointStore</c>). The optimizers are this project's own
    /// (<see cref="Optimizers"/>): TorchSharp's compute the same but make Scalars that a collection can free mid-step.
    /// </summary>
    public static OptimizerHelper Create(IEnumerable<Parameter> parameters, OptimizerSection settings)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.EnsureLoaded();
        Require(settings.LearningRate > 0, $"optimizer.learning-rate must be positive, got {settings.LearningRate}.");
        Require(settings.WeightDecay >= 0, $"optimizer.weight-decay must be zero or positive, got {settings.WeightDecay}.");
        var list = parameters.ToList();
        Require(list.Count > 0, "The model has no parameters to optimise.");

        switch (settings.Type.Trim().ToLowerInvariant())
        {
            case "sgd":
                Require(settings.Momentum >= 0, $"optimizer.momentum must be zero or positive, got {settings.Momentum}.");
                // PyTorch rejects Nesterov without momentum: the look-ahead would be a no-op and hide a config mistake.
                Require(!settings.Nesterov || settings.Momentum > 0, "optimizer.nesterov needs optimizer.momentum > 0 (e.g. 0.9).");
                return new Optimizers.SGD(list, settings.LearningRate, momentum: settings.Momentum, weightDecay: settings.WeightDecay, nesterov: settings.Nesterov);
            case "adam":
                RequireBetas(settings);
                return new Optimizers.Adam(list, settings.LearningRate, settings.Beta1, settings.Beta2, AdamEpsilon, settings.WeightDecay);
            case "adamw":
                RequireBetas(settings);
                return new Optimizers.AdamW(list, settings.LearningRate, settings.Beta1, settings.Beta2, AdamEpsilon, settings.WeightDecay);
            default:
                throw new ArgumentException($"Unknown optimizer '{settings.Type}'. Valid optimizers: {string.Join(", ", OptimizerNames)}.");
        }
    }

    /// <param name="totalEpochs">The run's epoch count; the default cosine period.</param>
    public static LearningRateSchedule CreateSchedule(OptimizerHelper optimizer, SchedulerSection settings, int totalEpochs)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(settings);
        switch (settings.Type.Trim().ToLowerInvariant())
        {
            case "none":
            case "":
                return new LearningRateSchedule(optimizer, null);
            case "step":
                Require(settings.StepSize > 0, $"scheduler.step-size must be a positive number of epochs, got {settings.StepSize}.");
                Require(settings.Gamma is > 0 and <= 1, $"scheduler.gamma must be in (0, 1], got {settings.Gamma}.");
                return new LearningRateSchedule(optimizer, optim.lr_scheduler.StepLR(optimizer, settings.StepSize, settings.Gamma));
            case "cosine":
                int period = settings.TMax > 0 ? settings.TMax : totalEpochs;
                Require(period > 0, $"scheduler.t-max (or the run's epochs) must be a positive number of epochs, got {period}.");
                Require(settings.MinLearningRate >= 0, $"scheduler.min-learning-rate must be zero or positive, got {settings.MinLearningRate}.");
                return new LearningRateSchedule(optimizer, optim.lr_scheduler.CosineAnnealingLR(optimizer, period, settings.MinLearningRate));
            default:
                throw new ArgumentException($"Unknown scheduler '{settings.Type}'. Valid schedulers: {string.Join(", ", SchedulerNames)}.");
        }
    }

    static void RequireBetas(OptimizerSection settings)
    {
        Require(settings.Beta1 is >= 0 and < 1 && settings.Beta2 is >= 0 and < 1,
            $"optimizer.beta1 and optimizer.beta2 must be in [0, 1), got {settings.Beta1} and {settings.Beta2}.");
    }

    static void Require(bool condition, string message)
    {
        if (!condition)
            throw new ArgumentException(message);
    }
}

/// <summary>
/// A per-epoch learning-rate schedule; "none" keeps the rate constant. Counts its steps so a resumed run can
/// fast-forward a fresh schedule to where the checkpoint left off.
/// </summary>
public sealed class LearningRateSchedule(OptimizerHelper optimizer, optim.lr_scheduler.LRScheduler? scheduler)
{
    /// <summary>Epochs stepped so far.</summary>
    public int Epoch { get; private set; }

    /// <summary>The rate the optimizer will use next (its first parameter group's).</summary>
    public double LearningRate => optimizer.ParamGroups.First().LearningRate;

    /// <summary>Call once at the end of each epoch.</summary>
    public void Step()
    {
        scheduler?.step();
        Epoch++;
    }

    /// <summary>
    /// Replays <paramref name="epochs"/> steps on a fresh schedule, to resume from a checkpoint. Works whether or
    /// not optimizer state was loaded first: TorchSharp's step and cosine schedulers update the rate from its
    /// current value, so the replay restarts from each group's initial rate instead of compounding on a loaded one.
    /// </summary>
    public void FastForward(int epochs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        if (Epoch != 0)
            throw new InvalidOperationException($"FastForward needs a fresh schedule; this one has already stepped {Epoch} epoch(s).");
        if (scheduler is not null)
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = group.InitialLearningRate;
        for (int i = 0; i < epochs; i++)
            Step();
    }
}

/// <summary>Gradient clipping.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Rescales all gradients together so their global L2 norm is at most <paramref name="maxNorm"/>; directions are
    /// kept. Call after backward and before the optimizer step.
    /// </summary>
    /// <returns>The global norm before clipping (worth logging: spikes precede divergence).</returns>
    public static double ClipByGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The clipping norm must be positive.");
        return nn.utils.clip_grad_norm_(parameters, maxNorm);
    }
}
