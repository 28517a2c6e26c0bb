using System.Buffers.Binary;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// The header every collective starts with: each rank sends its own to its successor and compares the one from its
/// predecessor. Ranks that call different collectives, or the same one with other sizes, would otherwise exchange
/// mismatched byte streams and produce garbage or hang; neighbour by neighbour, agreement covers the whole ring.
/// <see cref="Layout"/> identifies how the floats are cut into ring passes (window size, or a bucket plan's fingerprint).
/// </summary>
internal readonly record struct RingAgreement(RingCollective Collective, long Sequence, long Elements, long Layout)
{
    public const int Bytes = 28;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, (int)Collective);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], Elements);
        BinaryPrimitives.WriteInt64LittleEndian(destination[20..], Layout);
    }

    public static RingAgreement Read(ReadOnlySpan<byte> source) => new(
        (RingCollective)BinaryPrimitives.ReadInt32LittleEndian(source),
        BinaryPrimitives.ReadInt64LittleEndian(source[4..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[12..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[20..]));

    public string Describe() => Collective == RingCollective.Barrier
        ? $"{RingStep.Name(Collective)} #{Sequence}"
        : $"{RingStep.Name(Collective)} #{Sequence} of {Elements} floats in ring passes laid out as {Layout:x}";
}
