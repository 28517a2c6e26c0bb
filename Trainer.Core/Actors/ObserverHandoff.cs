using TorchSharp;
using TrainManager.Stages;

namespace TrainManager.Actors;

/// <summary>
/// Makes the values handed to an observer its own: a tensor becomes a new handle on the same storage
/// (or a copy, for [Snapshot] parameters), taken out of the routine's dispose scope, so the routine can
/// dispose its tensors while the observer still reads them. The observer's handles are released after its hook.
/// </summary>
internal static class ObserverHandoff
{
    public static void Prepare(object?[] args, IReadOnlyList<HookParameter> parameters)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is not torch.Tensor tensor) continue;
            var own = parameters[i].Snapshot ? tensor.detach().clone() : tensor.alias();
            args[i] = own.DetachFromDisposeScope();
        }
    }

    public static void Release(object?[] args)
    {
        for (var i = 0; i < args.Length; i++)
            if (args[i] is torch.Tensor tensor) tensor.Dispose();
    }
}
