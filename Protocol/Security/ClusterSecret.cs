using System.Net;
using System.Security.Cryptography;
using System.Text;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Protocol.Security;

/// <summary>
/// The cluster's credential: 32 random bytes that every member and every client proves it holds before the cluster
/// reads anything it sends (<see cref="SecretHandshakeTransport"/>), and the key that checkpoints are authenticated
/// with. Kept in a file of its own (one line of base64, readable by its owner only), never in a setting or on a
/// command line. Purpose-bound keys are derived from it, so the remoting proof and a checkpoint MAC never share a key.
/// </summary>
public sealed class ClusterSecret
{
    public const int Length = 32;
    const string Header = "# Train Manager cluster secret: every node and every client of the cluster needs this file; keep it private (mode 600).";

    readonly byte[] _secret;

    ClusterSecret(byte[] secret) => _secret = secret;

    /// <summary>Where a loopback-only cluster keeps its secret when none is given: one per user, shared by that user's
    /// local nodes and CLIs, created on first use.</summary>
    public static string DefaultPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".trainmanager", "cluster.secret");

    /// <summary>A new random secret (the embedded <c>train</c>: nobody outside the process can join it).</summary>
    public static ClusterSecret Random() => new(RandomNumberGenerator.GetBytes(Length));

    public static ClusterSecret FromBase64(string text, string source)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw Invalid(source);
        }
        return bytes.Length == Length ? new ClusterSecret(bytes) : throw Invalid(source);
    }

    public string ToBase64() => Convert.ToBase64String(_secret);

    /// <summary>Reads a secret file.</summary>
    /// <exception cref="ClusterConfigurationException">Missing, unreadable, readable by others, or not a secret.</exception>
    public static ClusterSecret Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new ClusterConfigurationException(
                $"the cluster secret file {full} does not exist. Copy the cluster's secret file there (every node and client needs the same one), " +
                "or create a new cluster's with: trainmanager secret " + full);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(full) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            throw new ClusterConfigurationException(
                $"the cluster secret file {full} can be read by other users; make it private with: chmod 600 {full}");
        string text;
        try
        {
            text = string.Join("", File.ReadAllLines(full).Where(l => !l.TrimStart().StartsWith('#')));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClusterConfigurationException($"the cluster secret file {full} cannot be read: {e.Message}", e);
        }
        return FromBase64(text, full);
    }

    /// <summary>Writes a new secret to <paramref name="path"/>, readable by its owner only; refuses to replace one.</summary>
    /// <exception cref="ClusterConfigurationException">The file exists, or its folder cannot be written.</exception>
    public static ClusterSecret Create(string path)
    {
        var full = Path.GetFullPath(path);
        var secret = Random();
        try
        {
            PrivateFile.CreateNew(full, Encoding.ASCII.GetBytes($"{Header}\n{secret.ToBase64()}\n"),
                "a cluster secret is never overwritten (the nodes that use it would be locked out). Remove it first if you mean to replace it.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClusterConfigurationException($"cannot write the cluster secret {full}: {e.Message}", e);
        }
        return secret;
    }

    /// <summary>The default secret of a loopback-only cluster: read, or created on first use.</summary>
    public static ClusterSecret LoadOrCreateDefault()
    {
        var path = DefaultPath;
        if (File.Exists(path))
            return Load(path);
        try
        {
            return Create(path);
        }
        catch (ClusterConfigurationException) when (File.Exists(path))
        {
            return Load(path); // another local process created it first
        }
    }

    /// <summary>The secret of this user's local runs (the embedded <c>train</c>, <c>eval</c>): the file
    /// <c>TRAINMANAGER_SECRET_FILE</c> names, else the default one, created on first use. So checkpoints one local run
    /// signs verify in the next <c>train --resume</c> or <c>eval</c> on the same machine.</summary>
    public static ClusterSecret ForThisUser() =>
        Environment.GetEnvironmentVariable("TRAINMANAGER_SECRET_FILE") is { Length: > 0 } file ? Load(file) : LoadOrCreateDefault();

    /// <summary>The key checkpoints are signed and authenticated with: <c>Derive("checkpoint")</c>.</summary>
    /// <param name="acceptUnsigned">Load checkpoints that carry no MAC (<c>trainmanager.security.accept-unsigned-checkpoints</c>).</param>
    public TrainManager.Checkpoints.CheckpointKey CheckpointKey(bool acceptUnsigned = false) =>
        new(Derive("checkpoint")) { AcceptUnsigned = acceptUnsigned };

    /// <summary>Where <see cref="Hosting.ClusterConfiguration.Build"/> puts the secret a member proves, in its configuration.</summary>
    public const string ConfigPath = "trainmanager.security.resolved-secret";

    /// <summary>The secret a member's configuration carries (<see cref="ConfigPath"/>); null when it has none.</summary>
    public static ClusterSecret? FromConfig(Akka.Configuration.Config config) =>
        config.GetString(ConfigPath, "") is { Length: > 0 } text ? FromBase64(text, ConfigPath) : null;

    /// <summary>A key for one purpose (<c>"remoting"</c>, <c>"checkpoint"</c>): HMAC-SHA256 of the purpose under the secret.</summary>
    public byte[] Derive(string purpose) => HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes($"trainmanager/{purpose}/v1"));

    /// <summary>Names the secret without revealing it: what a submission records as the credential it was made with.</summary>
    public string KeyId => Convert.ToHexStringLower(SHA256.HashData(Derive("key-id")))[..12];

    /// <summary>Whether every address is this machine's own: such a cluster may run without TLS and with the default secret.</summary>
    public static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    static ClusterConfigurationException Invalid(string source) => new(
        $"{source} is not a Train Manager cluster secret (one line of base64, {Length} bytes). Create one with: trainmanager secret FILE");
}
