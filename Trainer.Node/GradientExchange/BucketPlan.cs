namespace TrainManager.Node.GradientExchange;

/// <summary>A run of one tensor's floats: <see cref="Count"/> of them from <see cref="Offset"/>.</summary>
internal readonly record struct BucketSegment(int Tensor, long Offset, int Count);

/// <summary>One ring pass: <see cref="SegmentCount"/> segments from <see cref="FirstSegment"/>, <see cref="Length"/> floats in all.</summary>
internal readonly record struct BucketWindow(int FirstSegment, int SegmentCount, int Length);

/// <summary>
/// How a tensor list is cut into ring passes of at most the bucket size, as DDP does: small tensors are packed
/// together in list order, a tensor never straddles two windows unless it is larger than a bucket, and then it is cut
/// into windows of its own. So a large CPU tensor is reduced in its own memory, without copies, and only small ones
/// are packed. The plan depends on nothing but the tensor sizes and the bucket size, so every rank makes the same one;
/// its <see cref="Fingerprint"/> lets neighbours check that.
/// </summary>
internal sealed class BucketPlan
{
    private readonly List<BucketSegment> _segments = [];
    private readonly List<BucketWindow> _windows = [];

    private BucketPlan() { }

    public IReadOnlyList<BucketWindow> Windows => _windows;
    public long Elements { get; private set; }

    /// <summary>FNV-1a over the window lengths: equal on two ranks exactly when their byte streams line up.</summary>
    public long Fingerprint { get; private set; }

    public BucketSegment Segment(BucketWindow window, int index) => _segments[window.FirstSegment + index];

    public static BucketPlan Create(FlatTensorList tensors, int bucketElements)
    {
        var plan = new BucketPlan();
        int first = 0, length = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            var count = tensors.Length(i);
            if (count == 0)
                continue;
            if (length + count > bucketElements)
                plan.Close(ref first, ref length);
            for (long offset = 0; offset < count;)
            {
                var take = (int)Math.Min(count - offset, bucketElements - length);
                plan._segments.Add(new BucketSegment(i, offset, take));
                length += take;
                offset += take;
                if (length == bucketElements)
                    plan.Close(ref first, ref length);
            }
        }
        plan.Close(ref first, ref length);
        plan.Fingerprint = Fnv1a(plan._windows);
        return plan;
    }

    private void Close(ref int first, ref int length)
    {
        if (length == 0)
            return;
        _windows.Add(new BucketWindow(first, _segments.Count - first, length));
        Elements += length;
        first = _segments.Count;
        length = 0;
    }

    private static long Fnv1a(List<BucketWindow> windows)
    {
        var hash = 14695981039346656037UL;
        foreach (var window in windows)
        {
            hash = (hash ^ (uint)window.Length) * 1099511628211UL;
        }
        return (long)hash;
    }
}
