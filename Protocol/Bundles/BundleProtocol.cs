using System.Security.Cryptography;
using System.Text;
using Akka.Actor;

namespace TrainManager.Protocol;

/// <summary>
/// The bundle of a training project a run uses, as the journal records it and a node asks for it: its name (SHA-256 of
/// the canonical archive), size, the project and main assembly, the framework version it was built against, the commit
/// of the project's repository it was built from, and a MAC of the name under the cluster secret.
/// </summary>
/// <param name="Mac">HMAC-SHA256 of <see cref="Hash"/> under the cluster's bundle key (<see cref="BundleKey"/>): made by a
/// client that holds the cluster secret; a node loads no bundle whose name it does not verify.</param>
/// <param name="Commit">The commit of the project's repository (with "+changes" when its tree had uncommitted changes);
/// null when the project is not in a git repository.</param>
public sealed record BundleRef(string Hash, long Size, string Project, string Assembly, string FrameworkVersion, string? Commit, string Mac)
{
    /// <summary>The first 12 hex digits: how logs and reports name a bundle.</summary>
    public string ShortHash => TrainManager.Training.RecordedBundle.Shorten(Hash);

    public override string ToString() => Recorded().ToString();

    /// <summary>What a run directory records of it (<c>code/bundle.json</c>): all but the MAC.</summary>
    public TrainManager.Training.RecordedBundle Recorded() => new(Hash, Size, Project, Assembly, FrameworkVersion, Commit);
}

/// <summary>
/// Who may name a bundle: the key is derived from the cluster secret (<c>Derive("bundle")</c>), so only a holder of the
/// secret (a client that could join the cluster) makes a MAC a node accepts.
/// </summary>
public sealed class BundleKey(byte[] key)
{
    readonly byte[] _key = key;

    public string Sign(string hash) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(hash.ToLowerInvariant())));

    public bool Verifies(BundleRef bundle)
    {
        byte[] given;
        try
        {
            given = Convert.FromHexString(bundle.Mac);
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(given, Convert.FromHexString(Sign(bundle.Hash)));
    }
}

/// <summary>A client offers a bundle it is about to submit a run with. The coordinator answers <see cref="BundleHeld"/>
/// at once when it already holds it (nothing is sent again); otherwise it pulls the bytes from the sender with
/// <see cref="ReadBundleChunk"/> and answers <see cref="BundleHeld"/> once they are stored and verified, or
/// <see cref="BundleRefused"/>.</summary>
public sealed record OfferBundle(BundleRef Bundle) : IClusterMessage;

/// <param name="Uploaded">How many bytes were sent for it (0: the coordinator already held it).</param>
public sealed record BundleHeld(string Hash, long Uploaded) : IClusterMessage;

public sealed record BundleRefused(string Hash, string Reason) : IClusterMessage;

/// <summary>
/// The one way bundle bytes move, uploads and downloads alike: the receiver asks for a range and the holder answers with
/// a <see cref="BundleChunk"/>. The receiver keeps only a few requests outstanding, so a transfer never fills the
/// connection that carries the cluster's heartbeats, and it resumes from the bytes it has.
/// </summary>
public sealed record ReadBundleChunk(string Hash, long Offset, int Length) : IClusterMessage;

public sealed record BundleChunk(string Hash, long Offset, byte[] Data) : IClusterMessage;

/// <summary>The holder cannot serve the bundle (it has none of that name, or it was removed).</summary>
public sealed record BundleUnavailable(string Hash, string Reason) : IClusterMessage;

/// <summary>A node asks the coordinator where to read a bundle; answered with <see cref="BundleSource"/> or
/// <see cref="BundleUnavailable"/>.</summary>
public sealed record FetchBundle(string Hash) : IClusterMessage;

/// <summary>Read the bundle from <paramref name="Source"/> with <see cref="ReadBundleChunk"/>.</summary>
public sealed record BundleSource(string Hash, long Size, IActorRef Source) : IClusterMessage;
