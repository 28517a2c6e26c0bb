using TrainManager.Cli;
using TrainManager.Tests.Extensions.Provenance;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary><c>reproduce</c> of a run whose experiment named a training project in a repository of its own.</summary>
public sealed class CliReproduceProjectTests
{
    [Fact]
    public void Reproduce_says_where_the_project_is_and_how_to_train_the_recreated_experiment_with_it()
    {
        using var experiments = ProjectProvenanceTests.CreateExperimentRepository();
        using var project = ProjectProvenanceTests.CreateProjectRepository();
        var run = Path.Combine(TempDirectory(), "run");
        ProjectProvenanceTests.Record(run, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));
        var target = Path.Combine(TempDirectory(), "code");

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["reproduce", run, target], console.Console));

        var recreatedProject = Path.Combine(target, "code", "src", "MyModels");
        Assert.Contains($"training project: {recreatedProject}", console.Output);
        Assert.Equal(2, console.Output.Split("(verified)").Length - 1);
        Assert.Contains($"trainmanager train {Path.Combine(target, "experiments", "mlp.hocon")} --set code.project={recreatedProject}", console.Output);
    }

    [Fact]
    public void Reproduce_with_build_reports_a_recreated_project_that_does_not_compile()
    {
        using var experiments = ProjectProvenanceTests.CreateExperimentRepository();
        using var project = ProjectProvenanceTests.CreateProjectRepository();
        project.Write("src/MyModels/MyModels.csproj", "<Project>this is not a project file");
        var run = Path.Combine(TempDirectory(), "run");
        ProjectProvenanceTests.Record(run, experiments.PathOf("experiments/mlp.hocon"), project.PathOf("src/MyModels"));

        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["reproduce", run, Path.Combine(TempDirectory(), "code"), "--build"], console.Console));

        Assert.Contains("MyModels.csproj", console.Output);
        Assert.Contains("failed", console.Output);
    }
}
