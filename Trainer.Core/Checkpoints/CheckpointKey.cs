using System.Security.Cryptography;
using System.Text;

namespace TrainManager.Checkpoints;

/// <summary>
/// The key checkpoints are authenticated with: a <see cref="CheckpointStore"/> given one signs what it writes
/// (HMAC-SHA256) and loads only what verifies under it. The 32 bytes come from outside (a cluster derives them from its
/// secret), so this library does not know where keys are kept.
/// </summary>
public sealed class CheckpointKey
{
    public const int Length = 32;
    /// <summary>Bytes of <see cref="Id"/> stored in a signed checkpoint.</summary>
    internal const int IdLength = 8;

    readonly byte[] _key;

    public CheckpointKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
            throw new ArgumentException($"A checkpoint key is {Length} bytes; this one is {key.Length}.", nameof(key));
        _key = key.ToArray();
        IdBytes = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("trainmanager/checkpoint-key-id/v1"))[..IdLength];
    }

    /// <summary>
    /// Load a checkpoint that carries no MAC (written by a Train Manager version before checkpoints were signed, or by a
    /// store without a key) instead of refusing it. Off by default: such a file proves nothing about who wrote it.
    /// </summary>
    public bool AcceptUnsigned { get; init; }

    /// <summary>Names the key without revealing it (a one-way function of it): a refusal says whether a checkpoint was
    /// signed with another key, or modified under this one.</summary>
    public string Id => Convert.ToHexStringLower(IdBytes);

    internal byte[] IdBytes { get; }

    internal IncrementalHash NewMac() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
}

/// <summary>
/// A checkpoint whose signature does not verify under this store's key (modified after it was written, or written
/// with another cluster secret), or that has none while unsigned checkpoints are not accepted. Bad input: nothing in
/// it is loaded, and the message says what to do.
/// </summary>
public sealed class CheckpointAuthenticationException(string path, string reason, string advice)
    : Exception($"Checkpoint {path} cannot be trusted: {reason}. It was not loaded. {advice}"), Experiments.IBadInput
{
    public string Path { get; } = path;
    /// <summary>Why, in a few words (what a list of rejected checkpoints shows).</summary>
    public string Reason { get; } = reason;
}
