using TrainManager.Extensions.Provenance;

namespace TrainManager.Tests.Extensions.Provenance;

public sealed class ProvenanceRecorderTests
{
    private static readonly byte[] BinaryContent = [0x00, 0xFF, 0x10, 0x80, 0x00, 0x7F, 0xC3, 0x28, 0x00, 0x01];

    /// <summary>
    /// One commit, then every kind of uncommitted change: a staged edit, an unstaged edit (of a different file and on
    /// top of the staged one), a mode change, untracked text and binary files (one with spaces and non-ASCII in its
    /// name), an edited committed binary, a staged deletion, and ignored files.
    /// </summary>
    internal static ThrowawayRepository CreateDirtyRepository()
    {
        var repository = ThrowawayRepository.Create();
        repository.Write(".gitignore", "*.log\ncheckpoints/\n");
        repository.Write("train.py", "print('v1')\n");
        repository.Write("model.py", "layers = 2\n");
        repository.Write("obsolete.py", "pass\n");
        repository.Write("assets/logo.bin", [1, 2, 3, 0, 4]);
        repository.CommitAll("initial");

        repository.Write("train.py", "print('v2 staged')\n");
        repository.Git("add", "train.py");
        repository.Write("train.py", "print('v3 unstaged on top of staged')\n");
        repository.Write("model.py", "layers = 3\n");
        repository.Git("rm", "--quiet", "obsolete.py");
        repository.Write("notes/idea.txt", "untracked text, ünïcode\n");
        repository.Write("notes/a name with spaces ü.txt", "quoted path\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(repository.PathOf("model.py"), File.GetUnixFileMode(repository.PathOf("model.py")) | UnixFileMode.UserExecute);
        repository.Write("data/weights.bin", BinaryContent);
        repository.Write("assets/logo.bin", [9, 0, 9, 0, 255]);
        repository.Write("run.log", "ignored\n");
        repository.Write("checkpoints/epoch1.pt", [0, 1, 2]);
        return repository;
    }

    [Fact]
    public void Outside_a_repository_the_record_says_so_without_throwing()
    {
        var directory = Directory.CreateTempSubdirectory("tm-no-repo-");
        try
        {
            var provenance = ProvenanceRecorder.Capture(directory.FullName);

            Assert.False(provenance.IsGitRepository);
            Assert.Contains("not inside a git repository", provenance.NotInRepositoryReason);
            Assert.Null(provenance.Commit);
            Assert.Empty(provenance.UncommittedPatch);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Clean_repository_records_commit_branch_remote_and_the_commits_tree()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("a.txt", "a\n");
        repository.CommitAll("initial");
        repository.Git("remote", "add", "origin", "https://example.invalid/team/model.git");

        var provenance = ProvenanceRecorder.Capture(repository.Root);

        Assert.True(provenance.IsGitRepository);
        Assert.Equal(repository.Git("rev-parse", "HEAD"), provenance.Commit);
        Assert.Equal("main", provenance.Branch);
        Assert.Equal(new GitRemote("origin", "https://example.invalid/team/model.git", null), Assert.Single(provenance.Remotes));
        Assert.False(provenance.IsDirty);
        Assert.Equal(repository.Git("rev-parse", "HEAD^{tree}"), provenance.TreeId);
        Assert.Empty(provenance.UncommittedPatch);
    }

    [Fact]
    public void Capture_from_a_subdirectory_describes_the_whole_repository()
    {
        using var repository = CreateDirtyRepository();

        var fromRoot = ProvenanceRecorder.Capture(repository.Root);
        var fromSubdirectory = ProvenanceRecorder.Capture(repository.PathOf("notes"));

        Assert.Equal(repository.Root, fromSubdirectory.RepositoryRoot);
        Assert.Equal(fromRoot.TreeId, fromSubdirectory.TreeId);
        Assert.Equal(fromRoot.UncommittedPatch, fromSubdirectory.UncommittedPatch);
    }

    [Fact]
    public void Dirty_repository_tree_id_is_what_add_all_and_write_tree_would_record()
    {
        using var repository = CreateDirtyRepository();
        var provenance = ProvenanceRecorder.Capture(repository.Root);

        // The reference answer, computed the ordinary way in a copy of the repository.
        var copy = Directory.CreateTempSubdirectory("tm-provenance-copy-").FullName;
        try
        {
            CopyDirectory(repository.Root, copy);
            ThrowawayRepository.RunGit(copy, "add", "--all");
            Assert.Equal(ThrowawayRepository.RunGit(copy, "write-tree"), provenance.TreeId);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }

        Assert.True(provenance.IsDirty);
    }

    [Fact]
    public void Patch_covers_staged_unstaged_untracked_and_binary_changes_but_not_ignored_files()
    {
        using var repository = CreateDirtyRepository();

        var patch = System.Text.Encoding.UTF8.GetString(ProvenanceRecorder.Capture(repository.Root).UncommittedPatch);

        Assert.Contains("+print('v3 unstaged on top of staged')", patch);
        Assert.Contains("+layers = 3", patch);
        Assert.Contains("deleted file mode", patch);
        Assert.Contains("b/notes/idea.txt", patch);
        Assert.Contains("b/data/weights.bin", patch);
        Assert.Contains("GIT binary patch", patch);
        Assert.DoesNotContain("run.log", patch);
        Assert.DoesNotContain("checkpoints/", patch);
    }

    [Fact]
    public void Capture_leaves_the_index_and_working_tree_byte_for_byte_unchanged()
    {
        using var repository = CreateDirtyRepository();
        // status first: it may refresh (rewrite) the index itself, which must not count against the capture.
        var statusBefore = repository.Git("status", "--porcelain=v1", "--ignored");
        var before = repository.FingerprintWorkingTreeAndIndex();
        var indexBefore = File.ReadAllBytes(repository.PathOf(".git/index"));

        ProvenanceRecorder.Capture(repository.Root);

        Assert.Equal(indexBefore, File.ReadAllBytes(repository.PathOf(".git/index")));
        Assert.Equal(before, repository.FingerprintWorkingTreeAndIndex());
        Assert.Equal(statusBefore, repository.Git("status", "--porcelain=v1", "--ignored"));
    }

    [Fact]
    public void Detached_head_has_no_branch()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("a.txt", "a\n");
        repository.CommitAll("initial");
        repository.Git("checkout", "--quiet", "--detach");

        Assert.Null(ProvenanceRecorder.Capture(repository.Root).Branch);
    }

    [Fact]
    public void Repository_without_commits_records_its_files_against_the_empty_tree()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("first.py", "print('hello')\n");

        var provenance = ProvenanceRecorder.Capture(repository.Root);

        Assert.True(provenance.IsGitRepository);
        Assert.Null(provenance.Commit);
        Assert.True(provenance.IsDirty);
        Assert.Contains("b/first.py", System.Text.Encoding.UTF8.GetString(provenance.UncommittedPatch));
    }

    internal static void CopyDirectory(string source, string destination)
    {
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, directory)));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(destination, Path.GetRelativePath(source, file)));
    }
}
