using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using TorchSharp;
using TrainManager.Distributed;
using static TorchSharp.torch;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// Data-parallel gradient exchange over TCP: a bucketed ring all-reduce (reduce-scatter, then all-gather) between
/// the ranks of one training run. Actors agree on who takes part; this moves the tensors, on connections of its own,
/// so that megabytes of gradients never queue in front of cluster heartbeats.
/// <para>Collectives block the calling thread (the training loop's) and must be called one at a time, in the same
/// order and with the same sizes on every rank; the ranks check that at the start of each collective. When a peer
/// is lost, the collective throws <see cref="RingBrokenException"/> and the ring is finished: form a new one.</para>
/// <para>Tensor lists are reduced in ring passes of at most <see cref="RingOptions.BucketBytes"/>: a CPU tensor that
/// fills a pass alone is reduced in its own memory; smaller tensors, and tensors on a GPU, are packed into one
/// reusable host buffer (page-locked for GPUs), reduced there and copied back.</para>
/// </summary>
public sealed class RingAllReduce : IGradientTransport
{
    // Spans are reduced in windows so that a chunk's byte count always fits Span<byte>'s int length.
    private const int SpanWindowElements = 1 << 28;

    private readonly RingLink? _link; // null in a ring of one, where every collective is the identity
    private readonly RingOptions _options;
    private readonly HostBucket _bucket;
    private readonly byte[] _ourAgreement = new byte[RingAgreement.Bytes];
    private readonly byte[] _theirAgreement = new byte[RingAgreement.Bytes];
    private long _sequence;
    private int _busy; // 1 while a collective runs, and for good once the bucket is disposed
    private volatile bool _disposed;
    private Exception? _breakage;

    private RingAllReduce(int rank, int worldSize, RingLink? link, RingOptions options)
    {
        Rank = rank;
        WorldSize = worldSize;
        _link = link;
        _options = options;
        _bucket = new HostBucket(options.BucketElements);
    }

    /// <summary>The name experiments choose it by (<c>data-parallel.transport = ring</c>).</summary>
    public const string TransportName = "ring";

    public string Name => TransportName;
    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>A lost or refusing neighbour: the ring broke mid-collective, or a handshake was refused.</summary>
    public bool IsPeerFailure(Exception error) => error is RingBrokenException or RingHandshakeException;

    /// <summary>
    /// Forms the ring: connects to the successor's endpoint and accepts the predecessor on
    /// <paramref name="listener"/> at the same time, each after a handshake in which both sides prove the run token
    /// (without sending it) before the world size and both ranks are checked. Connections to the listener that are
    /// not the predecessor are shed beside it, each within <see cref="RingOptions.HelloTimeout"/>. Every rank calls
    /// this with the same peers and token.
    /// </summary>
    /// <exception cref="RingHandshakeException">A neighbour refused this rank, or is not a ring member.</exception>
    /// <exception cref="TimeoutException">The ring was not formed within <see cref="RingOptions.ConnectTimeout"/>.</exception>
    public static async Task<RingAllReduce> ConnectAsync(RingMembership membership, RingListener listener,
        RingOptions? options = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(listener);
        options ??= RingOptions.Default;
        options.Validate();
        if (membership.WorldSize == 1)
            return new RingAllReduce(membership.Rank, 1, link: null, options);

        using var deadline = new CancellationTokenSource(options.ConnectTimeout);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        var outgoing = AbortOtherOnFailure(RingHandshake.ConnectToSuccessorAsync(membership, options, abort.Token, deadline.Token), abort);
        var incoming = AbortOtherOnFailure(RingAcceptor.AcceptPredecessorAsync(listener.Socket, membership, options, abort.Token, deadline.Token), abort);
        try
        {
            await Task.WhenAll(outgoing, incoming).ConfigureAwait(false);
        }
        catch
        {
            if (outgoing.IsCompletedSuccessfully)
                outgoing.Result.Dispose();
            if (incoming.IsCompletedSuccessfully)
                incoming.Result.Dispose();
            // Report the failure that started it, not the cancellation it caused in the other direction.
            var cause = FirstRealFailure(outgoing) ?? FirstRealFailure(incoming);
            if (cause is not null)
                ExceptionDispatchInfo.Throw(cause);
            throw;
        }

        var link = new RingLink(membership.Rank, membership.Successor, outgoing.Result, membership.Predecessor, incoming.Result, options.OperationTimeout);
        return new RingAllReduce(membership.Rank, membership.WorldSize, link, options);
    }

    /// <summary>Replaces <paramref name="data"/>, on every rank, with the element-wise sum over all ranks.</summary>
    /// <exception cref="RingBrokenException">A peer was lost, or disagreed on the collective.</exception>
    public void AllReduceSum(Span<float> data, CancellationToken cancel = default) =>
        ReduceSpan(data, RingCollective.AllReduceSum, cancel);

    /// <summary>Replaces <paramref name="data"/>, on every rank, with the element-wise mean over all ranks.</summary>
    /// <exception cref="RingBrokenException">A peer was lost, or disagreed on the collective.</exception>
    public void AllReduceMean(Span<float> data, CancellationToken cancel = default) =>
        ReduceSpan(data, RingCollective.AllReduceMean, cancel);

    /// <summary><see cref="AllReduceSum(Span{float}, CancellationToken)"/> on a dedicated thread: the exchange waits
    /// in poll(2) for the whole collective, which must not hold a thread-pool thread that actors need.</summary>
    public Task AllReduceSumAsync(Memory<float> data, CancellationToken cancel = default) =>
        Task.Factory.StartNew(() => AllReduceSum(data.Span, cancel), cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Replaces each float32 tensor (CPU or CUDA, contiguous) with the element-wise sum over all ranks.</summary>
    /// <exception cref="ArgumentException">A tensor is not float32 or not contiguous; nothing was sent.</exception>
    /// <exception cref="RingBrokenException">A peer was lost, or disagreed on the collective.</exception>
    public void AllReduceSum(IReadOnlyList<Tensor> tensors, CancellationToken cancel = default) =>
        ReduceTensors(tensors, RingCollective.AllReduceSum, cancel);

    /// <summary>Replaces each float32 tensor (CPU or CUDA, contiguous) with the element-wise mean over all ranks:
    /// what data-parallel training does to gradients after the backward pass.</summary>
    /// <exception cref="ArgumentException">A tensor is not float32 or not contiguous; nothing was sent.</exception>
    /// <exception cref="RingBrokenException">A peer was lost, or disagreed on the collective.</exception>
    public void AllReduceMean(IReadOnlyList<Tensor> tensors, CancellationToken cancel = default) =>
        ReduceTensors(tensors, RingCollective.AllReduceMean, cancel);

    /// <summary>Returns once every rank has called it.</summary>
    /// <exception cref="RingBrokenException">A peer was lost, or disagreed on the collective.</exception>
    public void Barrier(CancellationToken cancel = default)
    {
        var sequence = Begin();
        try
        {
            if (_link is null)
                return;
            Agree(new RingAgreement(RingCollective.Barrier, sequence, 0, 0), cancel);
            RingAlgorithm.Barrier(_link, WorldSize, sequence, cancel);
        }
        catch (Exception e)
        {
            Break(e);
            throw;
        }
        finally
        {
            End();
        }
    }

    /// <summary>Closes both connections; the neighbours' collectives then fail at once.</summary>
    public void Dispose()
    {
        _disposed = true;
        _link?.Dispose();
        // A collective running on another thread may still be copying into the bucket; it frees it in End instead.
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
            _bucket.Dispose();
    }

    private void ReduceSpan(Span<float> data, RingCollective collective, CancellationToken cancel)
    {
        var sequence = Begin();
        try
        {
            if (_link is null)
                return;
            Agree(new RingAgreement(collective, sequence, data.Length, SpanWindowElements), cancel);
            for (var rest = data; !rest.IsEmpty;)
            {
                var window = rest[..Math.Min(rest.Length, SpanWindowElements)];
                RingAlgorithm.AllReduce(_link, window, WorldSize, collective, sequence, cancel);
                rest = rest[window.Length..];
            }
        }
        catch (Exception e)
        {
            Break(e);
            throw;
        }
        finally
        {
            End();
        }
    }

    private void ReduceTensors(IReadOnlyList<Tensor> tensors, RingCollective collective, CancellationToken cancel)
    {
        // Checked and planned before anything is sent, so that a caller's mistake leaves the ring usable.
        using var flat = FlatTensorList.Create(tensors);
        var plan = BucketPlan.Create(flat, _options.BucketElements);
        var sequence = Begin();
        try
        {
            if (_link is null)
                return;
            Agree(new RingAgreement(collective, sequence, plan.Elements, plan.Fingerprint), cancel);
            using var noGrad = torch.no_grad(); // the tensors may be leaves that require grad
            foreach (var window in plan.Windows)
            {
                if (window.SegmentCount == 1 && flat.TryGetHostSpan(plan.Segment(window, 0), out var inPlace))
                {
                    RingAlgorithm.AllReduce(_link, inPlace, WorldSize, collective, sequence, cancel);
                    continue;
                }
                var bucket = _bucket.Gather(flat, plan, window);
                RingAlgorithm.AllReduce(_link, bucket, WorldSize, collective, sequence, cancel);
                _bucket.Scatter(flat, plan, window);
            }
        }
        catch (Exception e)
        {
            Break(e);
            throw;
        }
        finally
        {
            End();
        }
    }

    private void Agree(RingAgreement ours, CancellationToken cancel)
    {
        var link = _link!;
        var step = new RingStep(ours.Collective, ours.Sequence, RingPhase.Agreement, 0, 1);
        ours.Write(_ourAgreement);
        link.Exchange(_ourAgreement, _theirAgreement, step, cancel);
        var theirs = RingAgreement.Read(_theirAgreement);
        if (theirs != ours)
            throw link.Broken(link.PredecessorRank, step,
                $"it started {theirs.Describe()} where this rank started {ours.Describe()}; every rank must call the same " +
                "collectives, in the same order, with the same sizes, tensor shapes and bucket size");
    }

    private long Begin()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException(
                "Another collective is running on this ring. Call collectives one at a time, in the same order on every rank.");
        }
        if (_disposed || _breakage is not null)
        {
            End();
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException($"This ring broke earlier and cannot be used: {_breakage!.Message}", _breakage);
        }
        return ++_sequence;
    }

    private void End()
    {
        Volatile.Write(ref _busy, 0);
        if (_disposed && Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
            _bucket.Dispose();
    }

    /// <summary>
    /// Whatever failed mid-collective, the byte streams are now out of step, so the ring is done. Closing it at once
    /// turns the failure into an end-of-stream for both neighbours, and so it travels round the ring in milliseconds
    /// instead of one timeout per rank.
    /// </summary>
    private void Break(Exception cause)
    {
        _breakage ??= cause;
        _link?.Dispose();
    }

    private static async Task<Socket> AbortOtherOnFailure(Task<Socket> direction, CancellationTokenSource abort)
    {
        try
        {
            return await direction.ConfigureAwait(false);
        }
        catch
        {
            abort.Cancel();
            throw;
        }
    }

    private static Exception? FirstRealFailure(Task task) =>
        task.Exception?.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException);
}
