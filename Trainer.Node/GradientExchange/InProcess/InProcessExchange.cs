using TorchSharp;
using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.Ring;

namespace TrainManager.Node.GradientExchange.InProcess;

/// <summary>
/// Gradient exchange between ranks in one process (the embedded cluster's <c>workers = N</c>): each rank copies its
/// part into an array of its own, waits for the others, sums its chunk of every rank's part into a shared array (a
/// reduce-scatter, so the adding is shared out as in the ring), waits again and copies all the sums back; no sockets,
/// no copies through the kernel. Chosen with <c>data-parallel.transport = in-process</c>, or by <c>auto</c> when every
/// rank of the run is in this process.
/// <para>The sums are the ring's, bit for bit: the tensors are cut into the same windows (<see cref="BucketPlan"/>)
/// and chunks (<see cref="RingChunks"/>), and each chunk is added up in the order the ring adds it (starting with the
/// chunk's own rank, going round), so a run gives the same losses whichever of the two it uses.</para>
/// <para>Native memory stays with its thread: a rank reads its tensors into managed floats and writes the sums back
/// on its own thread, through a host buffer it makes and disposes within the call.</para>
/// </summary>
public sealed class InProcessExchange : IGradientTransport
{
    /// <summary>The name experiments choose it by (<c>data-parallel.transport = in-process</c>).</summary>
    public const string TransportName = "in-process";

    private readonly InProcessGroup _group;
    private readonly InProcessOptions _options;
    private long _sequence;
    private int _busy;
    private volatile bool _disposed;

    internal InProcessExchange(InProcessGroup group, int rank, InProcessOptions options)
    {
        _group = group;
        _options = options;
        Rank = rank;
    }

    public string Name => TransportName;
    public int Rank { get; }
    public int WorldSize => _group.WorldSize;

    public bool IsPeerFailure(Exception error) => error is InProcessExchangeBrokenException;

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, CancellationToken cancel = default) =>
        Reduce(tensors, mean: false, cancel);

    public void AllReduceMean(IReadOnlyList<torch.Tensor> tensors, CancellationToken cancel = default) =>
        Reduce(tensors, mean: true, cancel);

    public void Barrier(CancellationToken cancel = default)
    {
        var sequence = Begin();
        try
        {
            _group.Arrive(Rank, new InProcessStep("barrier", sequence, 0, 0, 0, "arrival"), _options.OperationTimeout, cancel);
        }
        finally
        {
            End();
        }
    }

    /// <summary>Leaves the group: every other rank's collective, waiting or still to come, fails as a peer failure.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _group.Break(new InProcessExchangeBrokenException(Rank, Rank, "the exchange", $"rank {Rank} left it"));
    }

    private void Reduce(IReadOnlyList<torch.Tensor> tensors, bool mean, CancellationToken cancel)
    {
        // Checked and planned before anything is shared, so that a caller's mistake leaves the group usable.
        using var flat = FlatTensorList.Create(tensors);
        var plan = BucketPlan.Create(flat, _options.BucketElements);
        var sequence = Begin();
        try
        {
            var collective = mean ? "all-reduce (mean)" : "all-reduce";
            _group.Arrive(Rank, new InProcessStep(collective, sequence, plan.Elements, plan.Fingerprint, -1, "agreement"), _options.OperationTimeout, cancel);
            if (WorldSize == 1)
                return;
            using var noGrad = torch.no_grad(); // the tensors may be leaves that require grad
            using var bucket = new HostBucket(_options.BucketElements);
            for (var w = 0; w < plan.Windows.Count; w++)
            {
                var window = plan.Windows[w];
                var step = new InProcessStep(collective, sequence, plan.Elements, plan.Fingerprint, w, "");
                if (window.SegmentCount == 1 && flat.TryGetHostSpan(plan.Segment(window, 0), out var inPlace))
                {
                    ReduceWindow(inPlace, step, mean, cancel);
                    continue;
                }
                ReduceWindow(bucket.Gather(flat, plan, window), step, mean, cancel);
                bucket.Scatter(flat, plan, window);
            }
        }
        catch (Exception e) when (e is not (InProcessExchangeBrokenException or OperationCanceledException))
        {
            // The others would wait for this rank until their timeout: tell them now, as the ring does by closing.
            _group.Break(new InProcessExchangeBrokenException(Rank, Rank, $"all-reduce #{sequence}", $"rank {Rank} failed: {e.Message}"));
            throw;
        }
        finally
        {
            End();
        }
    }

    /// <summary>
    /// One window: contribute, sum this rank's chunk, copy every chunk back. Each barrier keeps a rank from going on
    /// before the others are done with what it would overwrite: the contributions are all written before anyone adds
    /// them, and the sums all written before anyone copies them; a rank writes its next contribution only after it has
    /// copied, and so its next sums only after every rank has copied (the next window's first barrier).
    /// </summary>
    private void ReduceWindow(Span<float> data, InProcessStep step, bool mean, CancellationToken cancel)
    {
        data.CopyTo(_group.Contribution(Rank, data.Length));
        var sums = _group.Sums(data.Length);
        _group.Arrive(Rank, step with { Phase = "contributed" }, _options.OperationTimeout, cancel);
        SumAsTheRingDoes(sums, data.Length, Rank, mean);
        _group.Arrive(Rank, step with { Phase = "summed" }, _options.OperationTimeout, cancel);
        sums.AsSpan(0, data.Length).CopyTo(data);
    }

    /// <summary>Chunk <paramref name="chunk"/> of the window is summed starting with that rank's part and adding the
    /// next rank's, and the next, as it travels round the ring, then divided by the world size for a mean: the ring's
    /// order, so the ring's bits.</summary>
    private void SumAsTheRingDoes(float[] sums, int windowLength, int chunk, bool mean)
    {
        var chunks = new RingChunks(windowLength, WorldSize);
        var (offset, length) = (chunks.Offset(chunk), chunks.Length(chunk));
        var into = sums.AsSpan(offset, length);
        _group.ContributionOf(chunk, offset, length).CopyTo(into);
        for (var k = 1; k < WorldSize; k++)
            FloatArithmetic.Add(into, _group.ContributionOf((chunk + k) % WorldSize, offset, length));
        if (mean)
            FloatArithmetic.Divide(into, WorldSize);
    }

    private long Begin()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException(
                "Another collective is running on this rank. Call collectives one at a time, in the same order on every rank.");
        return ++_sequence;
    }

    private void End() => Volatile.Write(ref _busy, 0);
}

/// <summary>How an in-process exchange cuts and waits: the experiment's <c>data-parallel.bucket-size</c> (the ring's
/// windows, so the sums match it) and <c>timeout</c>, and how long the ranks may take to meet.</summary>
public sealed record InProcessOptions
{
    public int BucketBytes { get; init; } = 4 << 20;
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    internal int BucketElements => BucketBytes / sizeof(float);
}
