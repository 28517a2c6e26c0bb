using TrainManager.Extensions.Provenance;

namespace TrainManager.Tests.Extensions.Provenance;

public sealed class ProvenanceRoundTripTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("tm-provenance-run-");

    private string RunDirectory => Path.Combine(_scratch.FullName, "run");
    private string TargetDirectory => Path.Combine(_scratch.FullName, "reproduced");

    public void Dispose() => _scratch.Delete(recursive: true);

    [Fact]
    public void Store_writes_a_readable_manifest_and_the_patch_and_loads_them_back()
    {
        using var repository = ProvenanceRecorderTests.CreateDirtyRepository();
        repository.Git("remote", "add", "origin", "https://example.invalid/team/model.git");
        var captured = ProvenanceRecorder.Capture(repository.Root);

        var directory = ProvenanceStore.Save(captured, RunDirectory);
        var loaded = ProvenanceStore.Load(directory);

        Assert.Equal(Path.Combine(RunDirectory, "provenance"), directory);
        Assert.Equal(captured.UncommittedPatch, File.ReadAllBytes(Path.Combine(directory, "uncommitted.patch")));
        // provenance.json keeps its field names now that the commit is the shared CodeVersion's: runs written before still load.
        Assert.Contains($"\"commitSha\": \"{captured.Commit}\"", File.ReadAllText(Path.Combine(directory, "provenance.json")));
        Assert.DoesNotContain("\"commit\":", File.ReadAllText(Path.Combine(directory, "provenance.json")));
        // Collections compare by reference in records; compare them separately, everything else in one go.
        Assert.Equal(captured with { UncommittedPatch = loaded.UncommittedPatch, Remotes = loaded.Remotes }, loaded);
        Assert.Equal(captured.UncommittedPatch, loaded.UncommittedPatch);
        Assert.Equal(captured.Remotes, loaded.Remotes);
    }

    [Fact]
    public void Loading_a_changed_patch_is_refused()
    {
        using var repository = ProvenanceRecorderTests.CreateDirtyRepository();
        var directory = ProvenanceStore.Save(ProvenanceRecorder.Capture(repository.Root), RunDirectory);
        File.AppendAllText(Path.Combine(directory, "uncommitted.patch"), "\n");

        var error = Assert.Throws<InvalidDataException>(() => ProvenanceStore.Load(directory));
        Assert.Contains("changed or damaged", error.Message);
    }

    [Fact]
    public void Reproduction_recreates_the_exact_tree_without_ignored_files()
    {
        using var repository = ProvenanceRecorderTests.CreateDirtyRepository();
        var captured = ProvenanceRecorder.Capture(repository.Root);
        var directory = ProvenanceStore.Save(captured, RunDirectory);

        var reproduced = ProvenanceReproducer.Reproduce(directory, TargetDirectory);

        Assert.Equal(captured.TreeId, reproduced.TreeId);
        Assert.Equal(repository.Root, reproduced.Source);
        Assert.Equal(captured.Commit, ThrowawayRepository.RunGit(TargetDirectory, "rev-parse", "HEAD"));
        Assert.Equal(File.ReadAllBytes(repository.PathOf("data/weights.bin")), File.ReadAllBytes(Path.Combine(TargetDirectory, "data/weights.bin")));
        Assert.Equal(File.ReadAllText(repository.PathOf("train.py")), File.ReadAllText(Path.Combine(TargetDirectory, "train.py")));
        Assert.False(File.Exists(Path.Combine(TargetDirectory, "obsolete.py")));
        Assert.Equal("quoted path\n", File.ReadAllText(Path.Combine(TargetDirectory, "notes/a name with spaces ü.txt")));
        if (!OperatingSystem.IsWindows())
            Assert.True(File.GetUnixFileMode(Path.Combine(TargetDirectory, "model.py")).HasFlag(UnixFileMode.UserExecute));
        Assert.False(File.Exists(Path.Combine(TargetDirectory, "run.log")));
        Assert.False(Directory.Exists(Path.Combine(TargetDirectory, "checkpoints")));
    }

    [Fact]
    public void Reproduction_of_a_clean_commit_needs_no_patch()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("a.txt", "a\n");
        repository.CommitAll("initial");
        var directory = ProvenanceStore.Save(ProvenanceRecorder.Capture(repository.Root), RunDirectory);

        var reproduced = ProvenanceReproducer.Reproduce(directory, TargetDirectory);

        Assert.Equal(repository.Git("rev-parse", "HEAD^{tree}"), reproduced.TreeId);
    }

    [Fact]
    public void Reproduction_falls_back_to_the_remote_when_the_original_repository_is_gone()
    {
        using var upstream = ThrowawayRepository.Create();
        upstream.Write("a.txt", "a\n");
        upstream.CommitAll("initial");
        var clonePath = Path.Combine(_scratch.FullName, "clone");
        ThrowawayRepository.RunGit(_scratch.FullName, "clone", "--quiet", upstream.Root, clonePath);
        File.WriteAllText(Path.Combine(clonePath, "b.txt"), "uncommitted\n");
        var directory = ProvenanceStore.Save(ProvenanceRecorder.Capture(clonePath), RunDirectory);
        Directory.Delete(clonePath, recursive: true);

        var reproduced = ProvenanceReproducer.Reproduce(directory, TargetDirectory);

        Assert.Equal(upstream.Root, reproduced.Source);
        Assert.Equal("uncommitted\n", File.ReadAllText(Path.Combine(TargetDirectory, "b.txt")));
    }

    [Fact]
    public void Reproduction_that_yields_a_different_tree_fails_with_both_tree_ids()
    {
        using var repository = ProvenanceRecorderTests.CreateDirtyRepository();
        var captured = ProvenanceRecorder.Capture(repository.Root);
        var wrongTree = repository.Git("rev-parse", "HEAD^{tree}");
        var directory = ProvenanceStore.Save(captured with { TreeId = wrongTree }, RunDirectory);

        var error = Assert.Throws<ProvenanceTreeMismatchException>(() => ProvenanceReproducer.Reproduce(directory, TargetDirectory));

        Assert.Equal(wrongTree, error.ExpectedTreeId);
        Assert.Equal(captured.TreeId, error.ActualTreeId);
        Assert.Contains(wrongTree, error.Message);
    }

    [Fact]
    public void Reproduction_refuses_a_non_empty_target()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("a.txt", "a\n");
        repository.CommitAll("initial");
        var directory = ProvenanceStore.Save(ProvenanceRecorder.Capture(repository.Root), RunDirectory);
        Directory.CreateDirectory(TargetDirectory);
        File.WriteAllText(Path.Combine(TargetDirectory, "keep.txt"), "mine");

        var error = Assert.Throws<ProvenanceReproductionException>(() => ProvenanceReproducer.Reproduce(directory, TargetDirectory));
        Assert.Contains("not empty", error.Message);
    }

    [Fact]
    public void Reproduction_of_code_captured_outside_a_repository_explains_there_is_nothing_to_reproduce()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "plain"));
        var directory = ProvenanceStore.Save(ProvenanceRecorder.Capture(outside.FullName), RunDirectory);

        var error = Assert.Throws<ProvenanceReproductionException>(() => ProvenanceReproducer.Reproduce(directory, TargetDirectory));
        Assert.Contains("not in a git working tree", error.Message);
    }

    [Fact]
    public void Reproduction_of_a_repository_without_commits_starts_from_an_empty_repository()
    {
        using var repository = ThrowawayRepository.Create();
        repository.Write("first.py", "print('hello')\n");
        var captured = ProvenanceRecorder.Capture(repository.Root);
        var directory = ProvenanceStore.Save(captured, RunDirectory);

        var reproduced = ProvenanceReproducer.Reproduce(directory, TargetDirectory);

        Assert.Equal(captured.TreeId, reproduced.TreeId);
        Assert.Null(reproduced.Source);
    }
}
