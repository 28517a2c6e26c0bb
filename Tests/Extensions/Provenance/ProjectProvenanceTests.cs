using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Extensions.Provenance;
using TrainManager.Tests.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Provenance;

/// <summary>The training project named by <c>code.project</c>: recorded beside the experiment's repository, and recreated with it.</summary>
public sealed class ProjectProvenanceTests : IDisposable
{
    private static readonly byte[] Weights = [0x00, 0xFF, 0x10, 0x80, 0x00, 0x7F, 0xC3, 0x28];

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("tm-project-provenance-");

    private string RunDirectory => Path.Combine(_scratch.FullName, "run");
    private string ProvenanceDirectory => Path.Combine(RunDirectory, "provenance");
    private string TargetDirectory => Path.Combine(_scratch.FullName, "reproduced");

    public void Dispose() => _scratch.Delete(recursive: true);

    /// <summary>An experiment file, committed, then edited.</summary>
    internal static ThrowawayRepository CreateExperimentRepository()
    {
        var repository = ThrowawayRepository.Create();
        repository.Write("experiments/mlp.hocon", "name = mlp\n");
        repository.CommitAll("experiment");
        repository.Write("experiments/mlp.hocon", "name = mlp\nepochs = 3\n");
        return repository;
    }

    /// <summary>A project folder with a .csproj and a committed source file, then an edit, an untracked file and an untracked binary.</summary>
    internal static ThrowawayRepository CreateProjectRepository()
    {
        var repository = ThrowawayRepository.Create();
        AddProject(repository);
        repository.CommitAll("project");
        repository.Write("src/MyModels/Model.cs", "class Model { int Layers => 3; }\n");
        repository.Write("src/MyModels/Extra.cs", "class Extra { }\n");
        repository.Write("src/MyModels/weights.bin", Weights);
        return repository;
    }

    private static void AddProject(ThrowawayRepository repository)
    {
        repository.Write("src/MyModels/MyModels.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");
        repository.Write("src/MyModels/Model.cs", "class Model { int Layers => 2; }\n");
    }

    /// <summary>Runs the provenance extension's hook as a training run would, for an experiment naming <paramref name="project"/>.</summary>
    internal static ProvenanceExtension Record(string runDirectory, string experimentFile, string project)
    {
        var experiment = TrainingFixtures.Mlp(Path.GetDirectoryName(runDirectory)!) with { SourceFile = experimentFile, Code = new CodeSection(project) };
        var extension = ProvenanceExtension.Create(new ExtensionContext(runDirectory, experiment));
        extension.PreFit(CPU, seed: 7);
        return extension;
    }

    [Fact]
    public void A_project_in_its_own_repository_is_recorded_beside_the_experiments()
    {
        using var experiments = CreateExperimentRepository();
        using var project = CreateProjectRepository();

        var extension = Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));

        var recorded = ProjectProvenanceStore.Load(ProvenanceDirectory)!;
        Assert.False(recorded.SharesExperimentRepository);
        Assert.Equal(project.PathOf("src/MyModels"), recorded.Project);
        Assert.Equal("src/MyModels", recorded.PathInRepository);
        Assert.Equal("experiments/mlp.hocon", recorded.ExperimentFile);
        Assert.Equal(project.Root, recorded.Code!.RepositoryRoot);
        Assert.Equal(project.Git("rev-parse", "HEAD"), recorded.Code.Commit);
        Assert.Equal(experiments.Root, extension.Code!.RepositoryRoot);
        // Independent of the recorder: what git itself makes of the whole working tree once everything is added.
        project.Git("add", "--all");
        Assert.Equal(project.Git("write-tree"), recorded.Code.TreeId);
    }

    [Fact]
    public void The_project_patch_carries_its_edit_its_untracked_file_and_its_binary()
    {
        using var experiments = CreateExperimentRepository();
        using var project = CreateProjectRepository();

        Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));

        var patch = File.ReadAllText(Path.Combine(ProvenanceDirectory, "code", "uncommitted.patch"));
        Assert.Contains("+class Model { int Layers => 3; }", patch);
        Assert.Contains("b/src/MyModels/Extra.cs", patch);
        Assert.Contains("GIT binary patch", patch);
        Assert.DoesNotContain("mlp.hocon", patch);
    }

    [Fact]
    public void Reproduction_recreates_both_repositories_with_their_recorded_tree_ids()
    {
        using var experiments = CreateExperimentRepository();
        using var project = CreateProjectRepository();
        var extension = Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));

        var reproduced = RunCodeReproducer.Reproduce(ProvenanceDirectory, TargetDirectory);

        Assert.Equal(extension.Code!.TreeId, reproduced.Experiment.TreeId);
        Assert.Equal(extension.Project!.Code!.TreeId, reproduced.Project!.OwnRepository!.TreeId);
        Assert.Equal(Path.Combine(TargetDirectory, "code"), reproduced.Project.OwnRepository.TargetDirectory);
        Assert.Equal(Path.Combine(TargetDirectory, "code", "src", "MyModels"), reproduced.Project.Path);
        Assert.Equal(Path.Combine(TargetDirectory, "experiments", "mlp.hocon"), reproduced.ExperimentFile);
        Assert.Equal("name = mlp\nepochs = 3\n", File.ReadAllText(reproduced.ExperimentFile!));
        Assert.Equal("class Model { int Layers => 3; }\n", File.ReadAllText(Path.Combine(reproduced.Project.Path!, "Model.cs")));
        Assert.Equal("class Extra { }\n", File.ReadAllText(Path.Combine(reproduced.Project.Path!, "Extra.cs")));
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(reproduced.Project.Path!, "weights.bin")));
    }

    [Fact]
    public void The_recreated_project_repository_stays_out_of_the_experiments_git_status()
    {
        using var experiments = CreateExperimentRepository();
        using var project = CreateProjectRepository();
        var extension = Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));

        RunCodeReproducer.Reproduce(ProvenanceDirectory, TargetDirectory);

        Assert.DoesNotContain("code/", ThrowawayRepository.RunGit(TargetDirectory, "status", "--porcelain", "--untracked-files=all"));
        // So recording the recreated experiment again gives the recorded tree.
        Assert.Equal(extension.Code!.TreeId, ProvenanceRecorder.Capture(TargetDirectory).TreeId);
    }

    [Fact]
    public void A_project_inside_the_experiments_repository_is_recorded_once()
    {
        using var repository = CreateExperimentRepository();
        AddProject(repository);

        Record(RunDirectory, repository.PathOf("experiments/mlp.hocon"), repository.PathOf("src/MyModels"));

        var recorded = ProjectProvenanceStore.Load(ProvenanceDirectory)!;
        Assert.True(recorded.SharesExperimentRepository);
        Assert.Null(recorded.Code);
        Assert.Equal("src/MyModels", recorded.PathInRepository);
        Assert.False(File.Exists(Path.Combine(ProvenanceDirectory, "code", "provenance.json")));
        Assert.Contains("src/MyModels/Model.cs", File.ReadAllText(Path.Combine(ProvenanceDirectory, "uncommitted.patch")));
    }

    [Fact]
    public void Reproduction_of_a_project_inside_the_experiments_repository_points_into_the_recreated_tree()
    {
        using var repository = CreateExperimentRepository();
        AddProject(repository);
        Record(RunDirectory, repository.PathOf("experiments/mlp.hocon"), repository.PathOf("src/MyModels"));

        var reproduced = RunCodeReproducer.Reproduce(ProvenanceDirectory, TargetDirectory);

        Assert.Null(reproduced.Project!.OwnRepository);
        Assert.Equal(Path.Combine(TargetDirectory, "src", "MyModels"), reproduced.Project.Path);
        Assert.True(File.Exists(Path.Combine(reproduced.Project.Path!, "MyModels.csproj")));
        Assert.False(Directory.Exists(Path.Combine(TargetDirectory, "code")));
    }

    [Fact]
    public void A_project_named_by_its_csproj_keeps_the_file_in_its_path()
    {
        using var experiments = CreateExperimentRepository();
        using var project = CreateProjectRepository();

        Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels/MyModels.csproj"));

        var recorded = ProjectProvenanceStore.Load(ProvenanceDirectory)!;
        Assert.Equal("src/MyModels/MyModels.csproj", recorded.PathInRepository);
        Assert.Equal(project.Root, recorded.Code!.RepositoryRoot);
    }

    [Fact]
    public void A_project_outside_any_repository_is_recorded_as_such_and_the_run_goes_on()
    {
        using var experiments = CreateExperimentRepository();
        var plain = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "plain", "MyModels"));
        File.WriteAllText(Path.Combine(plain.FullName, "MyModels.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");

        var extension = Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), plain.FullName);

        var recorded = ProjectProvenanceStore.Load(ProvenanceDirectory)!;
        Assert.False(recorded.SharesExperimentRepository);
        Assert.False(recorded.Code!.IsGitRepository);
        Assert.Contains("not inside a git repository", recorded.Code.NotInRepositoryReason);
        Assert.Null(recorded.PathInRepository);
        Assert.True(extension.Code!.IsGitRepository);
        Assert.True(File.Exists(Path.Combine(RunDirectory, "environment.json")));
    }

    [Fact]
    public void Reproduction_of_a_project_outside_any_repository_recreates_the_experiment_and_says_why_not_the_project()
    {
        using var experiments = CreateExperimentRepository();
        var plain = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "plain", "MyModels"));
        var extension = Record(RunDirectory, experiments.PathOf("experiments/mlp.hocon"), plain.FullName);

        var reproduced = RunCodeReproducer.Reproduce(ProvenanceDirectory, TargetDirectory);

        Assert.Equal(extension.Code!.TreeId, reproduced.Experiment.TreeId);
        Assert.Null(reproduced.Project!.Path);
        Assert.Contains("not in a git working tree", reproduced.Project.NotReproducedReason);
    }

    [Fact]
    public void A_run_without_a_training_project_records_and_reproduces_only_the_experiment()
    {
        using var experiments = CreateExperimentRepository();
        var experiment = TrainingFixtures.Mlp(_scratch.FullName) with { SourceFile = experiments.PathOf("experiments/mlp.hocon") };
        ProvenanceExtension.Create(new ExtensionContext(RunDirectory, experiment)).PreFit(CPU, seed: 7);

        var reproduced = RunCodeReproducer.Reproduce(ProvenanceDirectory, TargetDirectory);

        Assert.False(Directory.Exists(Path.Combine(ProvenanceDirectory, "code")));
        Assert.Null(reproduced.Project);
    }
}
