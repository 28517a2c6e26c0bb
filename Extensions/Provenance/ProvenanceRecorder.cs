using LibGit2Sharp;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Captures <see cref="CodeProvenance"/> for a directory. Read-only towards the user's repository: the index and
/// working tree are never modified (the tree id is computed in a private index, see <see cref="WorkingTreeSnapshot"/>).
/// </summary>
public static class ProvenanceRecorder
{
    /// <summary>
    /// Records commit, branch, remotes, dirtiness, the working tree's tree id and the patch from the commit to it.
    /// Outside a git working tree the result says so (<see cref="CodeProvenance.IsGitRepository"/> false); no exception.
    /// </summary>
    /// <exception cref="GitCommandException">The directory is in a repository but git could not be run on it.</exception>
    /// <exception cref="LibGit2SharpException">The repository exists but cannot be opened (e.g. it is corrupt).</exception>
    public static CodeProvenance Capture(string workingDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(workingDirectory);
        var directory = Path.GetFullPath(workingDirectory);
        if (!Directory.Exists(directory))
            return CodeProvenance.OutsideRepository(directory, $"the directory {directory} does not exist");

        var gitDirectory = Repository.Discover(directory);
        if (gitDirectory is null)
            return CodeProvenance.OutsideRepository(directory, $"{directory} is not inside a git repository");

        using var repository = new Repository(gitDirectory);
        if (repository.Info.IsBare || repository.Info.WorkingDirectory is null)
            return CodeProvenance.OutsideRepository(directory, $"{gitDirectory} is a bare repository without a working tree");

        var root = Path.TrimEndingDirectorySeparator(repository.Info.WorkingDirectory);
        var head = repository.Head.Tip;
        var headTree = head?.Tree.Sha;

        var git = new GitCommandLine(root);
        var treeId = WorkingTreeSnapshot.WriteTree(git, headExists: head is not null);
        var baseTree = headTree ?? EmptyTree(git);
        var patch = treeId == baseTree ? [] : Diff(git, baseTree, treeId);

        return new CodeProvenance
        {
            WorkingDirectory = directory,
            CapturedAt = DateTimeOffset.UtcNow,
            IsGitRepository = true,
            RepositoryRoot = root,
            Commit = head?.Sha,
            Branch = repository.Info.IsHeadDetached ? null : repository.Head.FriendlyName,
            Remotes = repository.Network.Remotes
                .Select(remote => new GitRemote(remote.Name, remote.Url, remote.PushUrl == remote.Url ? null : remote.PushUrl))
                .ToList(),
            IsDirty = treeId != baseTree,
            TreeId = treeId,
            UncommittedPatch = patch,
        };
    }

    /// <summary>The top of the git working tree holding <paramref name="directory"/>; null outside one (or in a bare repository).</summary>
    public static string? RepositoryRootOf(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full) || Repository.Discover(full) is not { } gitDirectory)
            return null;
        using var repository = new Repository(gitDirectory);
        return repository.Info.IsBare || repository.Info.WorkingDirectory is null
            ? null
            : Path.TrimEndingDirectorySeparator(repository.Info.WorkingDirectory);
    }

    /// <summary>
    /// The patch from one tree to another, in a form <c>git apply --binary</c> accepts whatever the user's diff
    /// configuration says (prefixes, external diff drivers, text conversion, colour and relative paths are all pinned).
    /// </summary>
    internal static byte[] Diff(GitCommandLine git, string fromTree, string toTree) =>
        git.Run([
            "diff", "--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
            "--no-relative", "--src-prefix=a/", "--dst-prefix=b/", fromTree, toTree, "--",
        ]);

    // A repository without commits diffs against the empty tree; asking git for it keeps SHA-256 repositories right.
    private static string EmptyTree(GitCommandLine git) => git.RunText(["hash-object", "-t", "tree", "-w", "--stdin"]);
}
