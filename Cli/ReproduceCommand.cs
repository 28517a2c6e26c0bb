using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Extensions.Provenance;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary><c>trainmanager reproduce RUN DIR [--build]</c>: recreates the code a run was trained with, commit plus every
/// uncommitted change, in DIR (a training project with a repository of its own in DIR/code), verifies each git tree id,
/// and says how to train the recreated experiment again.</summary>
[Description("Recreate in DIR the exact code a run was trained with (its training project's too), and verify the git tree ids.")]
public sealed class ReproduceCommand(IAnsiConsole console) : TrainManagerCommand<ReproduceCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<RUN>")]
        [Description("The run directory (runs/<run-id>) that was trained with the provenance extension.")]
        public string Run { get; set; } = "";

        [CommandArgument(1, "<DIR>")]
        [Description("An empty or new directory to recreate the code in.")]
        public string Directory { get; set; } = "";

        // Off by default: the tree id already proves the code is the same; a build also needs the SDK and the
        // project's packages, and can fail for reasons outside the recorded code (a reference to a path outside it).
        [CommandOption("--build")]
        [Description("Also build the recreated training project, to check that it compiles here.")]
        public bool Build { get; set; }
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var provenance = Path.Combine(settings.Run, ProvenanceStore.DirectoryName);
        if (!System.IO.Directory.Exists(provenance))
            throw new CommandInputException(
                $"'{settings.Run}' has no provenance/ folder: the run was not trained with the provenance extension. " +
                "Add { type = provenance } to the experiment's extensions to record the code of future runs.");
        ReproducedRunCode code;
        try
        {
            code = RunCodeReproducer.Reproduce(provenance, settings.Directory);
        }
        catch (Exception e) when (e is ProvenanceReproductionException or InvalidDataException)
        {
            throw new CommandInputException(e.Message, e);
        }

        var experiment = code.Experiment;
        Console.MarkupLineInterpolated($"[green]Recreated the code of {Path.GetFileName(Path.GetFullPath(settings.Run))} in {experiment.TargetDirectory}[/]");
        Console.MarkupLineInterpolated($"experiment's repository: {Describe(experiment)}");
        if (code.Project is { } project)
            ReportProject(project, settings);
        if (code.Project?.Path is { } projectPath && settings.Build)
        {
            var build = TrainingProject.Build(projectPath);
            Console.MarkupLineInterpolated($"the training project builds: {Path.Combine(build.OutputDirectory, build.AssemblyFile)}");
        }
        ReportHowToTrain(code);
        return ExitCodes.Success;
    }

    private void ReportProject(ReproducedProject project, Settings settings)
    {
        if (project.Path is null)
        {
            Console.MarkupLineInterpolated(
                $"[yellow]The training project {project.OriginalPath} was not recreated: {project.NotReproducedReason}. The run's build of it is in {Path.Combine(Path.GetFullPath(settings.Run), RunDirectory.CodeBuildDirectory)}.[/]");
            return;
        }
        if (project.OwnRepository is { } own)
        {
            Console.MarkupLineInterpolated($"training project: {project.Path}");
            Console.MarkupLineInterpolated($"training project's repository, recreated in {own.TargetDirectory}: {Describe(own)}");
        }
        else
        {
            Console.MarkupLineInterpolated($"training project: {project.Path} (in the experiment's repository)");
        }
    }

    private void ReportHowToTrain(ReproducedRunCode code)
    {
        // The experiment file may name its project by a path that does not lead to the recreated one (a sibling
        // repository, or a --set at training time); naming it explicitly always does.
        var setProject = code.Project?.Path is { } path ? $" --set code.project={ShellWord(path)}" : "";
        if (code.ExperimentFile is { } file)
            Console.MarkupLineInterpolated($"train it again: trainmanager train {ShellWord(file)}{setProject}");
        else if (setProject.Length > 0)
            Console.MarkupLineInterpolated($"train it again with the experiment's file and{setProject}");
    }

    private static string Describe(ReproducedCode code) =>
        $"commit {code.CommitSha ?? "(none)"} from {code.Source ?? "(unknown)"}, tree {code.TreeId} (verified)";

    private static string ShellWord(string text) =>
        text.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '$' or '`' or '\\' or '&' or ';' or '|' or '(' or ')' or '<' or '>' or '*' or '?')
            ? "'" + text.Replace("'", "'\\''") + "'"
            : text;
}
