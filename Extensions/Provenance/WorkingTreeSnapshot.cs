namespace TrainManager.Extensions.Provenance;

/// <summary>
/// The git tree that a working directory represents: what <c>git add -A &amp;&amp; git write-tree</c> would give,
/// computed in a private copy of the index so the user's index and working tree are never modified.
/// Writing the tree stores blobs in the repository's object database, which is harmless (unreferenced objects).
/// </summary>
internal static class WorkingTreeSnapshot
{
    public static string WriteTree(GitCommandLine git, bool headExists)
    {
        var userIndex = Path.GetFullPath(git.RunText(["rev-parse", "--git-path", "index"]), git.WorkingDirectory);
        var scratch = Directory.CreateTempSubdirectory("trainmanager-index-");
        try
        {
            var privateIndex = Path.Combine(scratch.FullName, "index");
            var environment = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = privateIndex };

            // Starting from a copy keeps the stat cache (only changed files are re-hashed) and keeps files that are
            // tracked although ignored. Without an index (fresh clone, no checkout) start from HEAD for the same reason.
            if (File.Exists(userIndex))
                File.Copy(userIndex, privateIndex);
            else if (headExists)
                git.Run(["read-tree", "HEAD"], environment);

            // splitIndex/fsmonitor off: the private index must not write shared-index files or call the user's monitor.
            git.Run(["-c", "core.splitIndex=false", "-c", "core.fsmonitor=false", "add", "--all", "--", ":/"], environment);
            return git.RunText(["write-tree"], environment);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
