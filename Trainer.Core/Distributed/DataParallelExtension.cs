using TrainManager.Stages;
using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// Makes one rank of a data-parallel run: replicas start from identical parameters, and before every optimizer
/// step the gradients are averaged across ranks by the ring all-reduce, so every replica takes the same step and
/// stays identical. Hooks <c>PreStep</c> rather than <c>PostBackward</c> so gradient accumulation reduces once per
/// step, and runs before other PreStep hooks so they (and clipping) see the averaged gradients.
/// </summary>
public sealed class DataParallelExtension(RingAllReduce ring) : Extension
{
    public override string Name => "data-parallel";

    public override int Order => int.MinValue;

    public RingAllReduce Ring { get; } = ring;

    public void PreFit(nn.Module model, int rank, int worldSize)
    {
        if (rank != Ring.Rank || worldSize != Ring.WorldSize)
            throw new InvalidOperationException(
                $"The trainer is rank {rank} of {worldSize}, but its ring is rank {Ring.Rank} of {Ring.WorldSize}: build the trainer with the ring's rank and world size.");
        // Same seed gives the same initial weights, but a resumed or differently built replica must not drift: average once.
        using var noGrad = no_grad();
        Ring.AllReduceMean(model.parameters().Select(p => (Tensor)p).ToList());
    }

    public void PreStep(nn.Module model)
    {
        var gradients = new List<Tensor>();
        foreach (var parameter in model.parameters())
            if (parameter.grad is { } grad) gradients.Add(grad);
        Ring.AllReduceMean(gradients);
    }
}
