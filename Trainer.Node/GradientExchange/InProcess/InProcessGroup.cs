using System.Diagnostics;

namespace TrainManager.Node.GradientExchange.InProcess;

/// <summary>
/// What the ranks of one run in this process share: one managed float array per rank, which only that rank writes
/// (its part of the window being reduced), one for the sums, of which each rank writes its own chunk, and a barrier. Managed memory on purpose: every native tensor stays with the
/// rank's thread that made it, and the others only read floats.
/// <para>Every arrival at the barrier says which step of which collective it is; the last rank to arrive compares
/// them, so ranks that call different collectives, or the same with other sizes, fail at once with a message instead
/// of summing garbage, as the ring's agreement does.</para>
/// </summary>
internal sealed class InProcessGroup(string key, int worldSize)
{
    private readonly object _gate = new();
    private readonly float[][] _contributions = Enumerable.Range(0, worldSize).Select(_ => Array.Empty<float>()).ToArray();
    private readonly InProcessStep?[] _steps = new InProcessStep?[worldSize];
    private float[] _sums = [];
    private int _arrived;
    private long _generation;
    private InProcessExchangeBrokenException? _breakage;

    public string Key { get; } = key;
    public int WorldSize { get; } = worldSize;

    /// <summary>Rank <paramref name="rank"/>'s array, at least <paramref name="length"/> floats; only that rank writes it,
    /// and only between the barriers that keep the others from reading it.</summary>
    public float[] Contribution(int rank, int length)
    {
        if (_contributions[rank].Length < length)
            _contributions[rank] = new float[length];
        return _contributions[rank];
    }

    /// <summary>The array the window's sums are gathered in, at least <paramref name="length"/> floats: every rank asks
    /// for it before the window's first barrier and keeps the reference (a later, longer window may replace it).</summary>
    public float[] Sums(int length)
    {
        lock (_gate)
        {
            if (_sums.Length < length)
                _sums = new float[length];
            return _sums;
        }
    }

    public ReadOnlySpan<float> ContributionOf(int rank, int offset, int length) => _contributions[rank].AsSpan(offset, length);

    /// <summary>Returns once every rank has arrived at <paramref name="step"/>.</summary>
    /// <exception cref="InProcessExchangeBrokenException">A rank left, disagreed on the step, or none came within
    /// <paramref name="timeout"/>; the group is then broken for every rank.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; the group is broken for the others.</exception>
    public void Arrive(int rank, InProcessStep step, TimeSpan timeout, CancellationToken cancel)
    {
        lock (_gate)
        {
            ThrowIfBroken();
            _steps[rank] = step;
            var generation = _generation;
            if (++_arrived == WorldSize)
            {
                for (var other = 0; other < WorldSize; other++)
                    if (_steps[other] != step)
                        throw Break(new InProcessExchangeBrokenException(rank, other, step.ToString(),
                            $"it was at {_steps[other]} where this rank was; every rank must call the same collectives, in the same order, with the same sizes"));
                Array.Clear(_steps);
                _arrived = 0;
                _generation++;
                Monitor.PulseAll(_gate);
                return;
            }

            var started = Stopwatch.GetTimestamp();
            while (_generation == generation)
            {
                ThrowIfBroken();
                if (cancel.IsCancellationRequested)
                {
                    Break(new InProcessExchangeBrokenException(rank, rank, step.ToString(), "this rank was cancelled"));
                    cancel.ThrowIfCancellationRequested();
                }
                var left = timeout - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                    throw Break(new InProcessExchangeBrokenException(rank, Missing(), step.ToString(),
                        $"not every rank arrived within {timeout.TotalSeconds:0.#} s"));
                // Woken by the last rank or a breakage; the short slice only notices cancellation.
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
            }
        }
    }

    /// <summary>Breaks the group for every rank (one left, or failed): whoever waits, or arrives later, throws.</summary>
    public InProcessExchangeBrokenException Break(InProcessExchangeBrokenException cause)
    {
        lock (_gate)
        {
            _breakage ??= cause;
            Monitor.PulseAll(_gate);
            return cause;
        }
    }

    private void ThrowIfBroken()
    {
        if (_breakage is { } broken)
            throw new InProcessExchangeBrokenException(broken.Rank, broken.PeerRank, broken.Operation, broken.Reason, broken);
    }

    /// <summary>A rank that has not arrived yet (the first without a step in this generation), for the message.</summary>
    private int Missing()
    {
        for (var other = 0; other < WorldSize; other++)
            if (_steps[other] is null)
                return other;
        return -1;
    }
}

/// <summary>Where a rank is: the collective (and its number, sizes and layout) and the step in it, compared at every
/// barrier.</summary>
internal readonly record struct InProcessStep(string Collective, long Sequence, long Elements, long Layout, int Window, string Phase)
{
    public override string ToString() => Elements == 0 && Layout == 0
        ? $"{Collective} #{Sequence} ({Phase})"
        : $"{Collective} #{Sequence} of {Elements} floats laid out as {Layout:x} (window {Window}, {Phase})";
}

/// <summary>
/// A rank of an in-process exchange left (its run is re-forming, or it failed), cancelled, disagreed on the collective,
/// or did not arrive in time. The group is finished for every rank; the run forms a new one.
/// </summary>
public sealed class InProcessExchangeBrokenException(int rank, int peerRank, string operation, string reason, Exception? inner = null)
    : Exception($"Rank {rank} lost rank {peerRank} during {operation}: {reason}. The in-process exchange is closed; form a new one.", inner)
{
    public int Rank { get; } = rank;

    /// <summary>The rank that left or disagreed, as far as this rank can tell; -1 when unknown.</summary>
    public int PeerRank { get; } = peerRank;

    public string Operation { get; } = operation;

    public string Reason { get; } = reason;
}
