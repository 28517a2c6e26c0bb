using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Gives every forward pass of the check the same CPU random stream (so functional dropout and other random ops in
/// forward code draw the same numbers in the clean and the perturbed pass), and hands the user's stream back untouched.
/// </summary>
internal sealed class RandomStateRewind : IDisposable
{
    private readonly Tensor _state;

    private RandomStateRewind()
    {
        _state = CpuRandomState.Get();
        _state.DetachFromDisposeScope();
    }

    public static RandomStateRewind Capture() => new();

    public void Rewind() => CpuRandomState.Set(_state);

    public void Dispose()
    {
        CpuRandomState.Set(_state);
        _state.Dispose();
    }
}
