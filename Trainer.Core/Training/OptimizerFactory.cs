using TorchSharp.Modules;
using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Training;

/// <summary>What an optimizer component is built over: the model's parameters, on the run's device.</summary>
public sealed record OptimizerTarget(IReadOnlyList<Parameter> Parameters);

/// <summary>What a schedule component is built over: the run's optimizer, and the run's epochs (the default cosine period).</summary>
public sealed record ScheduleTarget(OptimizerHelper Optimizer, int Epochs);

/// <summary>
/// The built-in optimizers and learning-rate schedules, declared as components like every other: an experiment names
/// them in <c>optimizer { type = adam }</c> and <c>scheduler { type = cosine }</c>, and a training project may declare its
/// own the same way (a static method marked <c>[Component("name")]</c> returning an <see cref="OptimizerHelper"/> or a
/// <see cref="LearningRateSchedule"/>, taking the target and the experiment's block). The optimizers are this project's
/// own (<see cref="Optimizers"/>): TorchSharp's compute the same but make Scalars that a collection can free mid-step.
/// Settings are checked with messages that say what to change.
/// </summary>
public static class OptimizerFactory
{
    /// <summary>Adam's and AdamW's epsilon: PyTorch's default, not an experiment setting.</summary>
    public const double AdamEpsilon = 1e-8;

    [Component("sgd", Description = "stochastic gradient descent, with momentum and Nesterov")]
    public static OptimizerHelper Sgd(OptimizerTarget target, OptimizerSection settings)
    {
        var parameters = Checked(target, settings);
        Require(settings.Momentum >= 0, $"optimizer.momentum must be zero or positive, got {settings.Momentum}.");
        // PyTorch rejects Nesterov without momentum: the look-ahead would be a no-op and hide a config mistake.
        Require(!settings.Nesterov || settings.Momentum > 0, "optimizer.nesterov needs optimizer.momentum > 0 (e.g. 0.9).");
        return new Optimizers.SGD(parameters, settings.LearningRate, momentum: settings.Momentum, weightDecay: settings.WeightDecay, nesterov: settings.Nesterov);
    }

    [Component("adam", Description = "Adam (L2 weight decay)")]
    public static OptimizerHelper Adam(OptimizerTarget target, OptimizerSection settings)
    {
        var parameters = Checked(target, settings);
        RequireBetas(settings);
        return new Optimizers.Adam(parameters, settings.LearningRate, settings.Beta1, settings.Beta2, AdamEpsilon, settings.WeightDecay);
    }

    [Component("adamw", Description = "AdamW (decoupled weight decay)")]
    public static OptimizerHelper AdamW(OptimizerTarget target, OptimizerSection settings)
    {
        var parameters = Checked(target, settings);
        RequireBetas(settings);
        return new Optimizers.AdamW(parameters, settings.LearningRate, settings.Beta1, settings.Beta2, AdamEpsilon, settings.WeightDecay);
    }

    [Component("none", Description = "a constant learning rate")]
    public static LearningRateSchedule Constant(ScheduleTarget target, SchedulerSection settings) => new(target.Optimizer, null);

    [Component("step", Description = "the rate times gamma every step-size epochs")]
    public static LearningRateSchedule Step(ScheduleTarget target, SchedulerSection settings)
    {
        Require(settings.StepSize > 0, $"scheduler.step-size must be a positive number of epochs, got {settings.StepSize}.");
        Require(settings.Gamma is > 0 and <= 1, $"scheduler.gamma must be in (0, 1], got {settings.Gamma}.");
        return new LearningRateSchedule(target.Optimizer, optim.lr_scheduler.StepLR(target.Optimizer, settings.StepSize, settings.Gamma));
    }

    [Component("cosine", Description = "cosine decay to min-lr over t-max epochs (default: all)")]
    public static LearningRateSchedule Cosine(ScheduleTarget target, SchedulerSection settings)
    {
        var period = settings.TMax > 0 ? settings.TMax : target.Epochs;
        Require(period > 0, $"scheduler.t-max (or the run's epochs) must be a positive number of epochs, got {period}.");
        Require(settings.MinLearningRate >= 0, $"scheduler.min-learning-rate must be zero or positive, got {settings.MinLearningRate}.");
        return new LearningRateSchedule(target.Optimizer, optim.lr_scheduler.CosineAnnealingLR(target.Optimizer, period, settings.MinLearningRate));
    }

    /// <summary>The checks every optimizer shares: a positive rate, no negative decay, something to optimise.</summary>
    public static IReadOnlyList<Parameter> Checked(OptimizerTarget target, OptimizerSection settings)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.EnsureLoaded();
        Require(settings.LearningRate > 0, $"optimizer.learning-rate must be positive, got {settings.LearningRate}.");
        Require(settings.WeightDecay >= 0, $"optimizer.weight-decay must be zero or positive, got {settings.WeightDecay}.");
        Require(target.Parameters.Count > 0, "The model has no parameters to optimise.");
        return target.Parameters;
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
