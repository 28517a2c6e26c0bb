namespace TrainManager.Extensions.Provenance;

/// <summary>What <see cref="ProvenanceReproducer.Reproduce"/> recreated and from where.</summary>
public sealed record ReproducedCode(string TargetDirectory, string? Source, string? CommitSha, string TreeId);

/// <summary>
/// Recreates the code of a run from its provenance directory: clones the recorded commit (from the original
/// repository if it is still there, else from the recorded remotes), applies the uncommitted patch, and proves the
/// result by comparing the working tree's tree id with the recorded one.
/// </summary>
public static class ProvenanceReproducer
{
    /// <exception cref="ProvenanceReproductionException">A step failed; <see cref="ProvenanceTreeMismatchException"/> when the result differs.</exception>
    /// <exception cref="InvalidDataException">The provenance directory is missing files or damaged.</exception>
    public static ReproducedCode Reproduce(string provenanceDirectory, string targetDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetDirectory);
        var provenance = ProvenanceStore.Load(provenanceDirectory);
        if (!provenance.IsGitRepository || provenance.TreeId is null)
        {
            throw new ProvenanceReproductionException(
                $"The run's code was not in a git working tree ({provenance.NotInRepositoryReason}); there is nothing to reproduce.");
        }

        var target = Path.GetFullPath(targetDirectory);
        PrepareEmptyTarget(target);
        var git = new GitCommandLine(target);

        var source = provenance.Commit is null ? InitialiseEmpty(git) : CloneCommit(git, provenance);
        if (provenance.UncommittedPatch.Length > 0)
            ApplyPatch(git, provenance.UncommittedPatch);

        var treeId = WorkingTreeSnapshot.WriteTree(git, headExists: provenance.Commit is not null);
        if (treeId != provenance.TreeId)
            throw new ProvenanceTreeMismatchException(provenance.TreeId, treeId, target);

        return new ReproducedCode(target, source, provenance.Commit, treeId);
    }

    private static void PrepareEmptyTarget(string target)
    {
        if (File.Exists(target))
            throw new ProvenanceReproductionException($"The target {target} is a file; give a new or empty directory.");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new ProvenanceReproductionException($"The target directory {target} is not empty; give a new or empty directory.");
        Directory.CreateDirectory(target);
    }

    private static string? InitialiseEmpty(GitCommandLine git)
    {
        Run(git, ["init", "--quiet"], "initialise an empty repository (the run had no commit yet)");
        return null;
    }

    private static string CloneCommit(GitCommandLine git, CodeProvenance provenance)
    {
        var commit = provenance.Commit!;
        var failures = new List<string>();
        foreach (var source in Sources(provenance))
        {
            try
            {
                git.Run(["clone", "--no-checkout", "--quiet", "--", source, "."]);
                // A commit that no branch or tag of the source reaches is not cloned; ask for it by id.
                if (!git.TryRun(["cat-file", "-e", commit + "^{commit}"]))
                    git.Run(["fetch", "--quiet", "origin", commit]);
                git.Run(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit]);
                return source;
            }
            catch (GitCommandException exception)
            {
                failures.Add($"  {source}: {exception.Message}");
                EmptyDirectory(git.WorkingDirectory);
            }
        }

        throw new ProvenanceReproductionException(failures.Count == 0
            ? $"Commit {commit} cannot be fetched: the original repository {provenance.RepositoryRoot} is gone and no remote was recorded."
            : $"Commit {commit} could not be checked out from any source:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>The original repository first (it has unpushed commits), then the recorded remotes, origin first.</summary>
    private static IEnumerable<string> Sources(CodeProvenance provenance)
    {
        if (provenance.RepositoryRoot is { } root && Directory.Exists(root))
            yield return root;
        foreach (var remote in provenance.Remotes.OrderBy(r => r.Name == "origin" ? 0 : 1))
            yield return remote.Url;
    }

    private static void ApplyPatch(GitCommandLine git, byte[] patch)
    {
        // --index: files that were tracked although ignored (force-added) must end up tracked here too.
        try
        {
            git.Run(["apply", "--binary", "--index", "--whitespace=nowarn", "-"], standardInput: patch);
        }
        catch (GitCommandException exception)
        {
            throw new ProvenanceReproductionException(
                $"The recorded uncommitted changes do not apply on top of the commit in {git.WorkingDirectory}: {exception.Message}", exception);
        }
    }

    private static void Run(GitCommandLine git, IReadOnlyList<string> arguments, string purpose)
    {
        try
        {
            git.Run(arguments);
        }
        catch (GitCommandException exception)
        {
            throw new ProvenanceReproductionException($"Could not {purpose} in {git.WorkingDirectory}: {exception.Message}", exception);
        }
    }

    private static void EmptyDirectory(string directory)
    {
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo subdirectory)
                subdirectory.Delete(recursive: true);
            else
                entry.Delete();
        }
    }
}
