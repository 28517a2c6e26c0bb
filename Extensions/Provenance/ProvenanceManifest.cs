using System.Text.Json.Serialization;
using TrainManager.Provenance;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// The on-disk form of <see cref="CodeProvenance"/> (provenance.json). The patch lives beside it as its own file,
/// so that a person can read and apply it with plain git; the manifest records its hash to catch damage.
/// </summary>
internal sealed record ProvenanceManifest : CodeVersion
{
    public ProvenanceManifest() { }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    ProvenanceManifest(CodeVersion code) : base(code) => (WorkingDirectory, UncommittedPatchFile, UncommittedPatchSha256) = ("", "", "");

    public const int CurrentFormatVersion = 1;

    public required int FormatVersion { get; init; }
    public required string WorkingDirectory { get; init; }
    public required DateTimeOffset CapturedAt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NotInRepositoryReason { get; init; }

    public string? RepositoryRoot { get; init; }
    public IReadOnlyList<GitRemote> Remotes { get; init; } = [];

    /// <summary>The commit is written once, under the name provenance.json has always given it (<see cref="CommitSha"/>).</summary>
    [JsonIgnore]
    public override string? Commit { get => base.Commit; init => base.Commit = value; }

    [JsonPropertyName("commitSha")]
    public string? CommitSha { get => Commit; init => Commit = value; }
    public required string UncommittedPatchFile { get; init; }
    public required string UncommittedPatchSha256 { get; init; }

    public static ProvenanceManifest From(CodeProvenance provenance, string patchFileName, string patchSha256) => new(provenance)
    {
        FormatVersion = CurrentFormatVersion,
        WorkingDirectory = provenance.WorkingDirectory,
        CapturedAt = provenance.CapturedAt,
        NotInRepositoryReason = provenance.NotInRepositoryReason,
        RepositoryRoot = provenance.RepositoryRoot,
        Remotes = provenance.Remotes,
        UncommittedPatchFile = patchFileName,
        UncommittedPatchSha256 = patchSha256,
    };

    public CodeProvenance ToProvenance(byte[] patch) => new(this)
    {
        WorkingDirectory = WorkingDirectory,
        CapturedAt = CapturedAt,
        NotInRepositoryReason = NotInRepositoryReason,
        RepositoryRoot = RepositoryRoot,
        Remotes = Remotes,
        UncommittedPatch = patch,
    };
}
