using TrainManager.Cli;
using TrainManager.Components;
using TrainManager.Extensions.Provenance;
using TrainManager.Protocol.Bundles;
using TrainManager.Tests.Cli;
using TrainManager.Tests.Extensions.Provenance;
using TrainManager.Training;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Bundles;

/// <summary>
/// <c>reproduce</c> of a cluster run that trained with a bundle of the user's project: the run's own build is checked
/// against the bundle's hash, and a rebuild (from provenance, or from a checkout given with --project) is compared with it.
/// Each test builds a real project with the .NET SDK, the way a node's run directory gets one: packed on the submitting
/// machine, extracted into the run's <c>code/bin</c>, with <c>code/bundle.json</c> beside it.
/// </summary>
public sealed class ReproduceBundleTests
{
    const string Name = "Shapes";

    /// <summary>A run directory as a node leaves it after training with <paramref name="build"/>'s bundle.</summary>
    static RecordedBundle RunWith(string run, ProjectBuild build, string? commit)
    {
        var bundle = ProjectBundle.Pack(build);
        // As a node's cache holds it: the files, and the manifest beside them (which the copy takes along).
        var cached = bundle.ExtractTo(Path.Combine(TempDirectory(), "cached"));
        File.WriteAllText(Path.Combine(cached.OutputDirectory, ProjectBundle.CachedManifestFile), "{}");
        cached.CopyTo(Path.Combine(run, RunDirectory.CodeBuildDirectory));
        var recorded = new RecordedBundle(bundle.Hash, bundle.Bytes.LongLength, bundle.Manifest.Project, bundle.Manifest.Assembly,
            bundle.Manifest.FrameworkVersion, commit);
        recorded.WriteTo(run);
        return recorded;
    }

    /// <summary>The project in a repository of its own, committed (build outputs ignored), as a user keeps one.</summary>
    static ThrowawayRepository CommittedProject()
    {
        var repository = ThrowawayRepository.Create();
        UserProjects.Write(repository.PathOf(Name), Name, "1");
        repository.Write(".gitignore", "bin/\nobj/\n");
        repository.CommitAll("the project");
        return repository;
    }

    [Fact]
    public void A_rebuild_from_provenance_of_a_committed_project_is_the_same_bundle()
    {
        using var experiments = ProjectProvenanceTests.CreateExperimentRepository();
        using var project = CommittedProject();
        var run = Path.Combine(TempDirectory(), "run");
        var recorded = RunWith(run, TrainingProject.Build(project.PathOf(Name)), project.Git("rev-parse", "HEAD"));
        ProjectProvenanceTests.Record(run, experiments.PathOf("experiments/mlp.hocon"), project.PathOf(Name));
        var target = Path.Combine(TempDirectory(), "reproduced");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["reproduce", run, target, "--build"], console.Console));

        Assert.Contains($"the run trained with {Name}.csproj bundle {recorded.Hash}", console.Output);
        Assert.Contains("is that bundle: hash verified", console.Output);
        Assert.Contains($"rebuilt {Path.Combine(target, "code", Name)}: bundle {recorded.Hash}, the same as the run's", console.Output);
    }

    [Fact]
    public void A_rebuild_outside_git_in_another_folder_is_another_bundle_and_the_answer_says_why_and_which_files()
    {
        var original = UserProjects.Write(Path.Combine(TempDirectory(), Name), Name, "1");
        var run = Path.Combine(TempDirectory(), "run");
        var recorded = RunWith(run, TrainingProject.Build(original), commit: null);
        var elsewhere = UserProjects.Write(Path.Combine(TempDirectory(), "moved", Name), Name, "1");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.Success,
            TrainManagerApp.Run(["reproduce", run, Path.Combine(TempDirectory(), "unused"), "--project", elsewhere], console.Console));

        Assert.Contains("has no provenance/ folder", console.Output);
        Assert.Contains("is that bundle: hash verified", console.Output);
        Assert.Contains($"not the run's {recorded.ShortHash}", console.Output);
        Assert.Contains($"files that differ: {Name}.dll", console.Output);
        Assert.Contains("not in a git repository", console.Output);
    }

    [Fact]
    public void A_run_build_changed_after_the_run_and_a_checkout_at_another_commit_are_both_named()
    {
        using var project = CommittedProject();
        var run = Path.Combine(TempDirectory(), "run");
        var recorded = RunWith(run, TrainingProject.Build(project.PathOf(Name)), project.Git("rev-parse", "HEAD"));
        File.AppendAllText(Path.Combine(run, RunDirectory.CodeBuildDirectory, $"{Name}.deps.json"), " ");
        project.Write($"{Name}/Later.cs", "namespace Shapes; public static class Later { }\n");
        project.CommitAll("later");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.Success,
            TrainManagerApp.Run(["reproduce", run, "--project", project.Root], console.Console));

        Assert.Contains("not the bundle's: it was changed after the run", console.Output);
        Assert.Contains($"{project.PathOf(Name)} is at {project.Git("rev-parse", "HEAD")}, the run's bundle was built from {recorded.Commit}", console.Output);
        Assert.Contains($"not the run's {recorded.ShortHash}", console.Output);
    }

    [Fact]
    public void Without_provenance_or_a_checkout_the_error_names_the_bundle_and_the_way_to_rebuild_it()
    {
        var run = Path.Combine(TempDirectory(), "run");
        new RecordedBundle(new string('a', 64), 1000, $"{Name}.csproj", $"{Name}.dll", "0.9.0", "0123456789abcdef").WriteTo(run);

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["reproduce", run, Path.Combine(TempDirectory(), "unused")], console.Console));

        Assert.Contains($"{Name}.csproj bundle aaaaaaaaaaaa (commit 0123456789abcdef)", console.Output);
        Assert.Contains("--project PATH", console.Output);
    }

    [Fact]
    public void A_checkout_without_the_bundles_project_is_bad_input_that_says_what_to_give()
    {
        var run = Path.Combine(TempDirectory(), "run");
        new RecordedBundle(new string('a', 64), 1000, $"{Name}.csproj", $"{Name}.dll", "0.9.0", null).WriteTo(run);
        var elsewhere = TempDirectory();
        File.WriteAllText(Path.Combine(elsewhere, "README.md"), "not a project");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["reproduce", run, "--project", elsewhere], console.Console));

        Assert.Contains($"--project names {elsewhere}, which holds no {Name}.csproj", console.Output);
    }

    [Fact]
    public void A_damaged_bundle_record_is_bad_input_that_names_the_file()
    {
        var run = Path.Combine(TempDirectory(), "run");
        Directory.CreateDirectory(Path.Combine(run, "code"));
        File.WriteAllText(RecordedBundle.PathIn(run), "{ not json");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["reproduce", run, Path.Combine(TempDirectory(), "unused")], console.Console));

        Assert.Contains("bundle.json", console.Output);
    }
}
