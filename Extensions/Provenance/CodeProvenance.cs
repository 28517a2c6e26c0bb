using TrainManager.Provenance;

namespace TrainManager.Extensions.Provenance;

/// <summary>A git remote as configured when the provenance was captured.</summary>
public sealed record GitRemote(string Name, string Url, string? PushUrl);

/// <summary>
/// Which code a run used: the commit, plus every uncommitted change (staged or not, untracked and binary files
/// included, ignored files excluded) as a binary-safe patch, plus the git tree id of the whole working directory,
/// which a reproduction must arrive at exactly. The commit, branch, dirtiness and tree are its <see cref="CodeVersion"/>.
/// </summary>
public sealed record CodeProvenance : CodeVersion
{
    public CodeProvenance() { }

    /// <summary>A capture of <paramref name="code"/>; the caller sets the rest.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public CodeProvenance(CodeVersion code) : base(code) => WorkingDirectory = "";

    /// <summary>The directory the capture was asked about.</summary>
    public required string WorkingDirectory { get; init; }

    public required DateTimeOffset CapturedAt { get; init; }

    /// <summary>Why there is no git information, when <see cref="IsGitRepository"/> is false.</summary>
    public string? NotInRepositoryReason { get; init; }

    /// <summary>Top of the git working tree.</summary>
    public string? RepositoryRoot { get; init; }

    public IReadOnlyList<GitRemote> Remotes { get; init; } = [];

    /// <summary>
    /// <c>git diff --binary</c> from the commit to <see cref="TreeId"/>, applicable with <c>git apply --binary</c>.
    /// Bytes rather than text: file contents need not be UTF-8. Empty when clean.
    /// </summary>
    public byte[] UncommittedPatch
    {
        get => _uncommittedPatch;
        init
        {
            _uncommittedPatch = value;
            UncommittedPatchBytes = value.LongLength;
        }
    }

    readonly byte[] _uncommittedPatch = [];

    public static CodeProvenance OutsideRepository(string workingDirectory, string reason) => new()
    {
        WorkingDirectory = workingDirectory,
        CapturedAt = DateTimeOffset.UtcNow,
        IsGitRepository = false,
        NotInRepositoryReason = reason,
    };

    public override string ToString() => IsGitRepository
        ? $"{Commit ?? "(no commit yet)"} on {Branch ?? "detached HEAD"}{(IsDirty ? $" + {UncommittedPatch.Length} bytes of uncommitted changes" : ", clean")}, tree {TreeId}"
        : $"not a git working tree: {NotInRepositoryReason}";
}
