namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// Splits a buffer of <c>length</c> floats into one chunk per rank, as evenly as possible: the first
/// <c>length % ranks</c> chunks hold one float more. Chunks may be empty (length below the rank count, or 0).
/// </summary>
internal readonly struct RingChunks(int length, int ranks)
{
    private readonly int _base = length / ranks;
    private readonly int _longer = length % ranks;

    public int Offset(int chunk) => chunk * _base + Math.Min(chunk, _longer);

    public int Length(int chunk) => _base + (chunk < _longer ? 1 : 0);

    public Span<float> Of(Span<float> buffer, int chunk) => buffer.Slice(Offset(chunk), Length(chunk));
}
