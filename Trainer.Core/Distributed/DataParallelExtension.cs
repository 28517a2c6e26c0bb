using TrainManager.Stages;
using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// Makes one rank of a data-parallel run: replicas start from identical parameters, and before every optimizer
/// step the gradients are averaged across ranks by the ring all-reduce, so every replica takes the same step and
/// stays identical. Hooks <c>PreStep</c> rather than <c>PostBackward</c> so gradient accumulation reduces once per
/// step, and runs before other PreStep hooks so they (and clipping) see the averaged gradients.
/// <para>
/// Stopping is agreed the same way: a rank asked to stop (<see cref="RequestStop"/>) votes in the next step's
/// exchange (one more float beside the gradients), and after that step every rank sees <see cref="StopAgreed"/>, so
/// all of them stop after the same batch. A rank that stopped alone would leave the others waiting in the exchange.
/// </para>
/// </summary>
public sealed class DataParallelExtension(RingAllReduce ring) : Extension, IDisposable
{
    private volatile bool _stopWanted;
    private Tensor? _vote;

    public override string Name => "data-parallel";

    public override int Order => int.MinValue;

    public RingAllReduce Ring { get; } = ring;

    /// <summary>Set on every rank after the step in which some rank asked to stop.</summary>
    public bool StopAgreed { get; private set; }

    /// <summary>Vote to stop in the next step's exchange; any thread may call it.</summary>
    public void RequestStop() => _stopWanted = true;

    public void PreFit(nn.Module model, int rank, int worldSize, Device device)
    {
        if (rank != Ring.Rank || worldSize != Ring.WorldSize)
            throw new InvalidOperationException(
                $"The trainer is rank {rank} of {worldSize}, but its ring is rank {Ring.Rank} of {Ring.WorldSize}: build the trainer with the ring's rank and world size.");
        StopAgreed = false;
        // Made here, outside any batch's dispose scope, and kept for the whole fit.
        _vote?.Dispose();
        _vote = zeros(1, ScalarType.Float32, device);
        // Same seed gives the same initial weights, but a resumed or differently built replica must not drift: average once.
        using var noGrad = no_grad();
        Ring.AllReduceMean(model.parameters().Select(p => (Tensor)p).ToList());
    }

    public void PreStep(nn.Module model)
    {
        var tensors = new List<Tensor>();
        foreach (var parameter in model.parameters())
            if (parameter.grad is { } grad) tensors.Add(grad);
        var vote = _vote ?? throw new InvalidOperationException("PreStep ran before PreFit: the data-parallel extension must take part in the whole fit.");
        vote.fill_(_stopWanted ? 1f : 0f);
        tensors.Add(vote);
        Ring.AllReduceMean(tensors);
        if (vote.item<float>() > 0f)
            StopAgreed = true;
    }

    public void Dispose()
    {
        _vote?.Dispose();
        _vote = null;
        Ring.Dispose();
    }
}
