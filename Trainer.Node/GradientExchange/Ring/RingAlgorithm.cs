using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// The ring schedule. Reduce-scatter: in step s rank r sends chunk r−s and adds the incoming chunk r−s−1 into its
/// own, so after N−1 steps it holds the complete sum of chunk r+1. All-gather: in step s it sends chunk r+1−s (summed)
/// and overwrites chunk r−s with the incoming one. Each rank sends and receives 2(N−1)/N of the buffer, whatever N
/// is, and every rank ends with the same bits, because each chunk is summed once, on one rank, and copied.
/// </summary>
internal static class RingAlgorithm
{
    /// <summary>Replaces <paramref name="data"/> on every rank with the element-wise sum over all ranks, or with the
    /// mean when <paramref name="collective"/> is <see cref="RingCollective.AllReduceMean"/>.</summary>
    public static void AllReduce(RingLink link, Span<float> data, int worldSize, RingCollective collective, long sequence, CancellationToken cancel)
    {
        var rank = link.Rank;
        var steps = worldSize - 1;
        var chunks = new RingChunks(data.Length, worldSize);
        for (var s = 0; s < steps; s++)
        {
            var step = new RingStep(collective, sequence, RingPhase.ReduceScatter, s, steps);
            link.ExchangeAdding(chunks.Of(data, Wrap(rank - s, worldSize)), chunks.Of(data, Wrap(rank - s - 1, worldSize)), step, cancel);
        }
        // Each rank divides only the chunk it completed, before sharing it: 1/N of the work, and still the same bits everywhere.
        if (collective == RingCollective.AllReduceMean)
            FloatArithmetic.Divide(chunks.Of(data, Wrap(rank + 1, worldSize)), worldSize);
        for (var s = 0; s < steps; s++)
        {
            var step = new RingStep(collective, sequence, RingPhase.AllGather, s, steps);
            link.Exchange(MemoryMarshal.AsBytes(chunks.Of(data, Wrap(rank + 1 - s, worldSize))),
                MemoryMarshal.AsBytes(chunks.Of(data, Wrap(rank - s, worldSize))), step, cancel);
        }
    }

    /// <summary>
    /// An all-gather of rank numbers: after step s a rank has heard, through its predecessor, from rank r−s−1, so after
    /// N−1 steps it knows that every rank has arrived. Checking each number also catches ranks that disagree on the
    /// order of collectives.
    /// </summary>
    public static void Barrier(RingLink link, int worldSize, long sequence, CancellationToken cancel)
    {
        var rank = link.Rank;
        var steps = worldSize - 1;
        Span<byte> outgoing = stackalloc byte[sizeof(int)];
        Span<byte> incoming = stackalloc byte[sizeof(int)];
        var carried = rank;
        for (var s = 0; s < steps; s++)
        {
            var step = new RingStep(RingCollective.Barrier, sequence, RingPhase.Barrier, s, steps);
            BinaryPrimitives.WriteInt32LittleEndian(outgoing, carried);
            link.Exchange(outgoing, incoming, step, cancel);
            carried = BinaryPrimitives.ReadInt32LittleEndian(incoming);
            var due = Wrap(rank - s - 1, worldSize);
            if (carried != due)
                throw link.Broken(link.PredecessorRank, step, $"it passed on the arrival of rank {carried} where rank {due}'s was due");
        }
    }

    private static int Wrap(int chunk, int worldSize) => ((chunk % worldSize) + worldSize) % worldSize;
}
