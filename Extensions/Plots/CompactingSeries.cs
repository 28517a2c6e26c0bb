namespace TrainManager.Extensions.Plots;

/// <summary>
/// A line's points with bounded memory: once <see cref="Capacity"/> points are stored, neighbouring pairs are
/// merged into their mean and each stored point stands for twice as many raw points from then on. A run of any
/// length keeps its whole history at a resolution that still fills a picture, and memory stays flat.
/// </summary>
public sealed class CompactingSeries
{
    private readonly List<double> _xs;
    private readonly List<double> _ys;
    private double _pendingX;
    private double _pendingY;
    private int _pendingCount;

    public CompactingSeries(int capacity = 4096)
    {
        // Pairs are merged, so an even capacity leaves no point that stands for a different number of raw points.
        if (capacity < 2 || capacity % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be an even number of at least 2.");
        Capacity = capacity;
        _xs = new List<double>(capacity);
        _ys = new List<double>(capacity);
    }

    public int Capacity { get; }

    /// <summary>How many raw points each stored point stands for (1 until the first compaction, then 2, 4, ...).</summary>
    public int PointsPerBucket { get; private set; } = 1;

    /// <summary>How many raw points were added.</summary>
    public long Added { get; private set; }

    public void Add(double x, double y)
    {
        _pendingX += x;
        _pendingY += y;
        _pendingCount++;
        Added++;
        if (_pendingCount < PointsPerBucket) return;
        _xs.Add(_pendingX / _pendingCount);
        _ys.Add(_pendingY / _pendingCount);
        (_pendingX, _pendingY, _pendingCount) = (0, 0, 0);
        if (_xs.Count == Capacity) Compact();
    }

    /// <summary>The stored points plus the partly filled last bucket, so the newest value is always visible.</summary>
    public (double[] Xs, double[] Ys) Points()
    {
        var extra = _pendingCount > 0 ? 1 : 0;
        var xs = new double[_xs.Count + extra];
        var ys = new double[_ys.Count + extra];
        _xs.CopyTo(xs);
        _ys.CopyTo(ys);
        if (extra == 1)
        {
            xs[^1] = _pendingX / _pendingCount;
            ys[^1] = _pendingY / _pendingCount;
        }
        return (xs, ys);
    }

    private void Compact()
    {
        for (var i = 0; i < Capacity / 2; i++)
        {
            _xs[i] = (_xs[2 * i] + _xs[2 * i + 1]) / 2;
            _ys[i] = (_ys[2 * i] + _ys[2 * i + 1]) / 2;
        }
        _xs.RemoveRange(Capacity / 2, Capacity / 2);
        _ys.RemoveRange(Capacity / 2, Capacity / 2);
        PointsPerBucket *= 2;
    }
}
