using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Copies of the model's buffers (running statistics, counters), written back afterwards: the check's forward passes
/// must leave no trace in the model, whatever its layers update while they run.
/// </summary>
internal sealed class ModelStateSnapshot : IDisposable
{
    private readonly List<(Tensor Live, Tensor Saved)> _buffers = [];

    private ModelStateSnapshot(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var buffer in model.buffers())
        {
            var saved = buffer.detach().clone();
            saved.DetachFromDisposeScope();
            _buffers.Add((buffer, saved));
        }
    }

    public static ModelStateSnapshot Take(nn.Module model) => new(model);

    public void Dispose()
    {
        using var noGrad = no_grad();
        foreach (var (live, saved) in _buffers)
        {
            live.copy_(saved);
            saved.Dispose();
        }

        _buffers.Clear();
    }
}
