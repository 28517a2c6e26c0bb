using System.Text.Json.Serialization;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// The on-disk form of <see cref="CodeProvenance"/> (provenance.json). The patch lives beside it as its own file,
/// so that a person can read and apply it with plain git; the manifest records its hash to catch damage.
/// </summary>
internal sealed record ProvenanceManifest
{
    public const int CurrentFormatVersion = 1;

    public required int FormatVersion { get; init; }
    public required string WorkingDirectory { get; init; }
    public required DateTimeOffset CapturedAt { get; init; }
    public required bool IsGitRepository { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NotInRepositoryReason { get; init; }

    public string? RepositoryRoot { get; init; }
    public string? CommitSha { get; init; }
    public string? Branch { get; init; }
    public IReadOnlyList<GitRemote> Remotes { get; init; } = [];
    public bool IsDirty { get; init; }
    public string? TreeId { get; init; }
    public required string UncommittedPatchFile { get; init; }
    public required long UncommittedPatchBytes { get; init; }
    public required string UncommittedPatchSha256 { get; init; }

    public static ProvenanceManifest From(CodeProvenance provenance, string patchFileName, string patchSha256) => new()
    {
        FormatVersion = CurrentFormatVersion,
        WorkingDirectory = provenance.WorkingDirectory,
        CapturedAt = provenance.CapturedAt,
        IsGitRepository = provenance.IsGitRepository,
        NotInRepositoryReason = provenance.NotInRepositoryReason,
        RepositoryRoot = provenance.RepositoryRoot,
        CommitSha = provenance.CommitSha,
        Branch = provenance.Branch,
        Remotes = provenance.Remotes,
        IsDirty = provenance.IsDirty,
        TreeId = provenance.TreeId,
        UncommittedPatchFile = patchFileName,
        UncommittedPatchBytes = provenance.UncommittedPatch.LongLength,
        UncommittedPatchSha256 = patchSha256,
    };

    public CodeProvenance ToProvenance(byte[] patch) => new()
    {
        WorkingDirectory = WorkingDirectory,
        CapturedAt = CapturedAt,
        IsGitRepository = IsGitRepository,
        NotInRepositoryReason = NotInRepositoryReason,
        RepositoryRoot = RepositoryRoot,
        CommitSha = CommitSha,
        Branch = Branch,
        Remotes = Remotes,
        IsDirty = IsDirty,
        TreeId = TreeId,
        UncommittedPatch = patch,
    };
}
