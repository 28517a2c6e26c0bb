using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace TrainManager.Training.Optimizers;

/// <summary>
/// Adam, computed exactly as TorchSharp's <see cref="TorchSharp.Modules.Adam"/> but with every <see cref="Scalar"/>
/// made explicitly and kept until the native calls that read it have returned. TorchSharp's own step converts
/// numbers implicitly (<c>alpha: 1 - beta1</c>, <c>value: -step_size</c>, <c>add_(eps)</c>); such a temporary is
/// unreachable once its handle is read, so a collection on another thread can free it mid-call, and training dies
/// with <c>c10::Scalar</c> errors. The class keeps TorchSharp's name, state and options, so its state dict (the
/// optimizer section of a checkpoint) reads and writes the same bytes.
/// </summary>
public sealed class Adam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay,
    bool amsgrad = false, bool maximize = false)
    : TorchSharp.Modules.Adam(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        using var moments = new AdamMoments(options.beta1!.Value, options.beta2!.Value, options.eps!.Value, options.amsgrad!.Value);
        using var decay = options.weight_decay!.Value.ToScalar();
        var decays = options.weight_decay.Value != 0;
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (options.maximize!.Value) grad = grad.neg();
            state.step += 1;
            // L2 penalty folded into the gradient (Adam), not decoupled (AdamW).
            if (decays) grad = grad.add(parameter, decay);
            moments.Update(state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq, grad, grad.conj(), state.step,
                parameter, options.LearningRate!.Value);
        }
    }, closure);
}

/// <summary>AdamW: Adam with decoupled weight decay, as TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> computes it,
/// every Scalar explicit (see <see cref="Adam"/>).</summary>
public sealed class AdamW(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay,
    bool amsgrad = false, bool maximize = false)
    : TorchSharp.Modules.AdamW(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        var lr = options.LearningRate!.Value;
        using var moments = new AdamMoments(options.beta1!.Value, options.beta2!.Value, options.eps!.Value, options.amsgrad!.Value);
        using var shrink = (1 - lr * options.weight_decay!.Value).ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (options.maximize!.Value) grad = grad.neg();
            state.step += 1;
            parameter.mul_(shrink);
            moments.Update(state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq, grad, grad, state.step, parameter, lr);
        }
    }, closure);
}

/// <summary>The moment updates Adam and AdamW share, with the Scalars of one parameter group made once.</summary>
internal sealed class AdamMoments(double beta1, double beta2, double eps, bool amsgrad) : IDisposable
{
    readonly Scalar _beta1 = beta1.ToScalar();
    readonly Scalar _beta2 = beta2.ToScalar();
    readonly Scalar _oneMinusBeta1 = (1 - beta1).ToScalar();
    readonly Scalar _oneMinusBeta2 = (1 - beta2).ToScalar();
    readonly Scalar _eps = eps.ToScalar();
    readonly Scalar _one = 1.0.ToScalar();

    /// <summary>exp_avg = β1·exp_avg + (1−β1)·g; exp_avg_sq = β2·exp_avg_sq + (1−β2)·g·ḡ; then
    /// p −= lr / (1−β1ᵗ) · exp_avg / (√v / √(1−β2ᵗ) + ε), v being exp_avg_sq or its running maximum (AMSGrad).</summary>
    public void Update(Tensor expAvg, Tensor expAvgSq, ref Tensor? maxExpAvgSq, Tensor grad, Tensor gradConjugate, long step,
        Tensor parameter, double lr)
    {
        var biasCorrection1 = 1 - Math.Pow(beta1, step);
        var biasCorrection2 = 1 - Math.Pow(beta2, step);
        expAvg.mul_(_beta1).add_(grad, _oneMinusBeta1);
        expAvgSq.mul_(_beta2).addcmul_(grad, gradConjugate, _oneMinusBeta2);
        var second = expAvgSq;
        if (amsgrad)
        {
            var previous = maxExpAvgSq!;
            maxExpAvgSq = maximum(previous, expAvgSq).DetachFromDisposeScope();
            previous.Dispose();
            second = maxExpAvgSq;
        }
        using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        var denominator = second.sqrt().div(sqrtCorrection2).add_(_eps, _one);
        using var stepSize = (-(lr / biasCorrection1)).ToScalar();
        parameter.addcdiv_(expAvg, denominator, stepSize);
    }

    public void Dispose()
    {
        foreach (var scalar in new[] { _beta1, _beta2, _oneMinusBeta1, _oneMinusBeta2, _eps, _one })
            scalar.Dispose();
    }
}
