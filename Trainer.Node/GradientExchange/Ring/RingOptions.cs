namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>Tuning and failure detection of a <see cref="RingAllReduce"/>. Every rank of a ring must use the same
/// <see cref="BucketBytes"/>; the ranks check this at the start of every tensor collective.</summary>
public sealed record RingOptions
{
    public static RingOptions Default { get; } = new();

    /// <summary>How many bytes of tensors are packed into one host buffer and reduced as one ring pass.
    /// Bounds the host memory a tensor collective needs; larger buckets mean fewer ring passes.</summary>
    public int BucketBytes { get; init; } = 4 << 20;

    /// <summary>How long a send or receive may make no progress before the peer is declared lost. Waiting for the
    /// other ranks to arrive at a collective counts too, so this must exceed the worst skew between ranks.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long forming the ring (connecting, accepting, handshakes) may take in all.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection to a rank's data endpoint may take to prove the run token and say who it is.
    /// Each connection has its own, and accepting goes on meanwhile: an idle or stray connection is dropped after
    /// this without delaying the predecessor. A peer answers in a few round trips, so a few seconds is plenty.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>SO_SNDBUF / SO_RCVBUF of the data connections; 0 leaves them to the kernel's autotuning.</summary>
    public int SocketBufferBytes { get; init; }

    internal int BucketElements => BucketBytes / sizeof(float);

    internal void Validate()
    {
        if (BucketBytes is < sizeof(float) or > 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(BucketBytes), BucketBytes, "A bucket holds 4 bytes (one float) to 1 GiB.");
        if (OperationTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(OperationTimeout), OperationTimeout, "The operation timeout must be positive.");
        if (ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "The connect timeout must be positive.");
        if (HelloTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HelloTimeout), HelloTimeout, "The hello timeout must be positive.");
        if (SocketBufferBytes < 0)
            throw new ArgumentOutOfRangeException(nameof(SocketBufferBytes), SocketBufferBytes, "Use 0 for the kernel's default, or a positive size.");
    }
}
