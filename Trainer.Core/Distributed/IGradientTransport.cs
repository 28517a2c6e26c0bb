using static TorchSharp.torch;

namespace TrainManager.Distributed;

/// <summary>
/// How the ranks of one data-parallel run exchange gradients: what <see cref="DataParallelExtension"/> needs and all it
/// knows about the transport, so that another transport (the TCP ring, ranks in one process, a GPU collective library)
/// plugs in without touching the training, the cluster protocol or the coordinator. The node builds one per rank from
/// the run's collective assignment and the experiment's <c>data-parallel.transport</c>.
/// <para>Collectives block the calling thread (the training loop's) and are called one at a time, in the same order and
/// with the same sizes on every rank. When a peer is lost a collective throws an exception for which
/// <see cref="IsPeerFailure"/> is true, and the transport is finished: the run forms a new one.</para>
/// <para><see cref="IDisposable.Dispose"/> may be called from any thread and ends the exchange at once: a collective in
/// flight on this rank fails, and so do its peers' (as peer failures) within moments rather than after a timeout; the
/// worker does this when the run re-forms without some rank.</para>
/// </summary>
public interface IGradientTransport : IDisposable
{
    /// <summary>The transport's name as the experiment writes it (<c>ring</c>, <c>in-process</c>).</summary>
    string Name { get; }

    int Rank { get; }

    int WorldSize { get; }

    /// <summary>Replaces each float32 tensor (contiguous, CPU or CUDA) with the element-wise sum over all ranks.</summary>
    /// <exception cref="ArgumentException">A tensor is not float32 or not contiguous; nothing was exchanged.</exception>
    void AllReduceSum(IReadOnlyList<Tensor> tensors, CancellationToken cancel = default);

    /// <summary>Replaces each float32 tensor (contiguous, CPU or CUDA) with the element-wise mean over all ranks: what
    /// data-parallel training does to gradients after the backward pass.</summary>
    /// <exception cref="ArgumentException">A tensor is not float32 or not contiguous; nothing was exchanged.</exception>
    void AllReduceMean(IReadOnlyList<Tensor> tensors, CancellationToken cancel = default);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier(CancellationToken cancel = default);

    /// <summary>Whether <paramref name="error"/> itself (not what it wraps) says that this transport lost a peer or
    /// could not reach one: the run re-forms without blame, where any other failure is the run's own.</summary>
    bool IsPeerFailure(Exception error);
}
