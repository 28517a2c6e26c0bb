using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace TrainManager.Training.Optimizers;

/// <summary>
/// Stochastic gradient descent (momentum, dampening, Nesterov, L2 penalty), computed exactly as TorchSharp's
/// <see cref="TorchSharp.Modules.SGD"/> but with every <see cref="Scalar"/> explicit and alive until the native
/// calls that read it have returned (see <see cref="Adam"/> for why). Same name, state and options as TorchSharp's,
/// so checkpoints read and write the same bytes.
/// </summary>
public sealed class SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
    bool nesterov = false, bool maximize = false)
    : TorchSharp.Modules.SGD(parameters, lr, momentum, dampening, weightDecay, nesterov, maximize)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        var momentum = options.momentum!.Value;
        var lr = options.LearningRate!.Value;
        using var decay = options.weight_decay!.Value.ToScalar();
        using var momentumScalar = momentum.ToScalar();
        using var undampened = (1 - options.dampening!.Value).ToScalar();
        using var stepSize = (options.maximize!.Value ? lr : -lr).ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (options.weight_decay.Value != 0) grad = grad.add(parameter, decay);
            if (momentum != 0)
            {
                var buffer = state.momentum_buffer;
                if (buffer is null)
                    state.momentum_buffer = buffer = grad.clone().detach().DetachFromDisposeScope();
                else
                    buffer.mul_(momentumScalar).add_(grad, undampened);
                grad = options.nesterov!.Value ? grad.add(buffer, momentumScalar) : buffer;
            }
            parameter.add_(grad, stepSize);
        }
    }, closure);
}
