using System.Security.Cryptography;
using System.Text.Json;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Keeps a run's <see cref="CodeProvenance"/> in <c>&lt;run&gt;/provenance/</c>: <c>provenance.json</c> (commit, branch,
/// remotes, tree id, …) and <c>uncommitted.patch</c> (apply with <c>git apply --binary</c>; empty when clean).
/// </summary>
public static class ProvenanceStore
{
    public const string DirectoryName = "provenance";
    public const string ManifestFileName = "provenance.json";
    public const string PatchFileName = "uncommitted.patch";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Writes the provenance files under <paramref name="runDirectory"/> and returns the provenance directory.</summary>
    public static string Save(CodeProvenance provenance, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        return SaveIn(provenance, Path.Combine(Path.GetFullPath(runDirectory), DirectoryName));
    }

    /// <summary>Writes the provenance files into <paramref name="directory"/> itself (e.g. a training project's own
    /// record in <c>provenance/code/</c>) and returns it.</summary>
    public static string SaveIn(CodeProvenance provenance, string directory)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        Directory.CreateDirectory(directory);

        File.WriteAllBytes(Path.Combine(directory, PatchFileName), provenance.UncommittedPatch);
        var manifest = ProvenanceManifest.From(provenance, PatchFileName, Sha256(provenance.UncommittedPatch));
        File.WriteAllText(Path.Combine(directory, ManifestFileName), JsonSerializer.Serialize(manifest, Json));
        return directory;
    }

    /// <summary>Reads what <see cref="Save"/> wrote, checking that the patch is the one the manifest recorded.</summary>
    /// <exception cref="InvalidDataException">A file is missing, unreadable, of an unknown format version or damaged.</exception>
    public static CodeProvenance Load(string provenanceDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provenanceDirectory);
        var manifestPath = Path.Combine(provenanceDirectory, ManifestFileName);
        if (!File.Exists(manifestPath))
            throw new InvalidDataException($"No {ManifestFileName} in {provenanceDirectory}; is this a run's {DirectoryName} directory?");

        ProvenanceManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ProvenanceManifest>(File.ReadAllText(manifestPath), Json)
                ?? throw new InvalidDataException($"{manifestPath} is empty.");
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{manifestPath} is not a valid provenance manifest: {exception.Message}", exception);
        }

        if (manifest.FormatVersion != ProvenanceManifest.CurrentFormatVersion)
        {
            throw new InvalidDataException(
                $"{manifestPath} has format version {manifest.FormatVersion}; this version of TrainManager reads version {ProvenanceManifest.CurrentFormatVersion}.");
        }

        var patchPath = Path.Combine(provenanceDirectory, manifest.UncommittedPatchFile);
        if (!File.Exists(patchPath))
            throw new InvalidDataException($"{manifestPath} refers to {manifest.UncommittedPatchFile}, which is missing.");

        var patch = File.ReadAllBytes(patchPath);
        var sha256 = Sha256(patch);
        if (sha256 != manifest.UncommittedPatchSha256)
        {
            throw new InvalidDataException(
                $"{patchPath} has SHA-256 {sha256} ({patch.Length} bytes) but {ManifestFileName} recorded {manifest.UncommittedPatchSha256} " +
                $"({manifest.UncommittedPatchBytes} bytes); the patch was changed or damaged after the run.");
        }

        return manifest.ToProvenance(patch);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
