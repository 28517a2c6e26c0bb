using TorchSharp;
using TrainManager.Stages;
using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// Makes one rank of a data-parallel run: replicas start from identical parameters, and before every optimizer
/// step the gradients are averaged across ranks by the run's <see cref="IGradientTransport"/>, so every replica takes the same step and
/// stays identical. Hooks <c>PreStep</c> rather than <c>PostBackward</c> so gradient accumulation reduces once per
/// step, and runs before other PreStep hooks so they (and clipping) see the averaged gradients.
/// <para>
/// The gradients live in one flat buffer: at the start of the fit every parameter's <c>grad</c> becomes a view into
/// it, and autograd accumulates into those views in place, so the exchange reduces the buffer where it lies, with no
/// copy in or out (on a GPU, what the transport needs, e.g. one copy each way through the ring's pinned host buffer). A gradient that something
/// replaced (or cleared) is copied back into its view and bound again before the exchange; nothing is ever reduced
/// that the optimizer does not see.
/// </para>
/// <para>
/// Stopping is agreed the same way: a rank asked to stop (<see cref="RequestStop"/>) votes in the next step's
/// exchange (the buffer's first element), and after that step every rank sees <see cref="StopAgreed"/>, so all of
/// them stop after the same batch. A rank that stopped alone would leave the others waiting in the exchange.
/// </para>
/// </summary>
public sealed class DataParallelExtension(IGradientTransport transport) : Extension, IDisposable
{
    private volatile bool _stopWanted;
    private Tensor? _buffer;
    private Tensor? _vote;
    private readonly List<(TorchSharp.Modules.Parameter Parameter, Tensor View, long Offset)> _bound = new();

    public override string Name => "data-parallel";

    public override int Order => int.MinValue;

    /// <summary>How this rank exchanges gradients with the others; disposed with the extension.</summary>
    public IGradientTransport Transport { get; } = transport;

    /// <summary>Set on every rank after the step in which some rank asked to stop.</summary>
    public bool StopAgreed { get; private set; }

    /// <summary>Vote to stop in the next step's exchange; any thread may call it.</summary>
    public void RequestStop() => _stopWanted = true;

    /// <summary>How many times a gradient had to be bound to its view again (it was replaced or cleared); for tests
    /// and diagnostics: zero when autograd and the optimizer keep the gradients in place, as they do.</summary>
    public int Rebinds { get; private set; }

    public void PreFit(nn.Module model, int rank, int worldSize, Device device)
    {
        if (rank != Transport.Rank || worldSize != Transport.WorldSize)
            throw new InvalidOperationException(
                $"The trainer is rank {rank} of {worldSize}, but its {Transport.Name} gradient transport is rank {Transport.Rank} of {Transport.WorldSize}: build the trainer with the transport's rank and world size.");
        StopAgreed = false;
        using (no_grad())
            // Same seed gives the same initial weights, but a resumed or differently built replica must not drift: average once.
            Transport.AllReduceMean(model.parameters().Select(p => (Tensor)p).ToList());
        BindGradients(model, device);
    }

    public void PreStep()
    {
        var buffer = _buffer ?? throw new InvalidOperationException("PreStep ran before PreFit: the data-parallel extension must take part in the whole fit.");
        using (no_grad())
        {
            foreach (var (parameter, view, offset) in _bound)
                KeepBound(parameter, view, offset);
            using (var vote = (_stopWanted ? 1f : 0f).ToScalar())
                _vote!.fill_(vote);
            Transport.AllReduceMean([buffer]);
        }
        if (_vote!.item<float>() > 0f)
            StopAgreed = true;
    }

    /// <summary>One buffer for the vote and every gradient; each parameter's <c>grad</c> a view of its part. The vote
    /// comes first, so every gradient's view starts past offset 0, where a tensor of its own would start.</summary>
    private void BindGradients(nn.Module model, Device device)
    {
        ReleaseBuffer();
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var parameter in parameters)
            if (parameter.dtype != ScalarType.Float32)
                throw new NotSupportedException(
                    $"Data-parallel training averages float32 gradients; a parameter of shape [{string.Join(", ", parameter.shape)}] is {parameter.dtype}.");
        var total = 1 + parameters.Sum(p => p.numel());
        _buffer = zeros(total, ScalarType.Float32, device);
        _vote = _buffer.narrow(0, 0, 1);
        long offset = 1;
        using var noGrad = no_grad();
        foreach (var parameter in parameters)
        {
            var view = _buffer.narrow(0, offset, parameter.numel()).view(parameter.shape);
            if (parameter.grad is { } existing)
                using (existing)
                    view.copy_(existing);
            parameter.grad = view;
            _bound.Add((parameter, view, offset));
            offset += parameter.numel();
        }
    }

    private void KeepBound(TorchSharp.Modules.Parameter parameter, Tensor view, long offset)
    {
        using var grad = parameter.grad;
        if (grad is not null && grad.storage_offset() == offset && grad.numel() == view.numel())
            return;
        if (grad is null)
            view.zero_();
        else
            view.copy_(grad);
        parameter.grad = view;
        Rebinds++;
    }

    private void ReleaseBuffer()
    {
        foreach (var (_, view, _) in _bound)
            view.Dispose();
        _bound.Clear();
        _vote?.Dispose();
        _vote = null;
        _buffer?.Dispose();
        _buffer = null;
    }

    public void Dispose()
    {
        ReleaseBuffer();
        Transport.Dispose();
    }
}
