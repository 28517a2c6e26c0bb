using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Extensions.Provenance;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary><c>trainmanager reproduce RUN [DIR] [--build] [--project PATH]</c>: recreates the code a run was trained with,
/// commit plus every uncommitted change, in DIR (a training project with a repository of its own in DIR/code), verifies
/// each git tree id, and says how to train the recreated experiment again. For a cluster run that trained with a bundle
/// of its training project it also checks the run's own build against the bundle's hash and, with <c>--build</c>,
/// rebuilds the project and says whether the rebuild is the same bundle.</summary>
[Description("Recreate in DIR the exact code a run was trained with (its training project's too), and verify the git tree ids.")]
public sealed class ReproduceCommand(IAnsiConsole console) : TrainManagerCommand<ReproduceCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<RUN>")]
        [Description("The run directory (runs/<run-id>) that was trained with the provenance extension.")]
        public string Run { get; set; } = "";

        [CommandArgument(1, "[DIR]")]
        [Description("An empty or new directory to recreate the code in (not needed with --project for a run without provenance).")]
        public string? Directory { get; set; }

        // Off by default: the tree id already proves the code is the same; a build also needs the SDK and the
        // project's packages, and can fail for reasons outside the recorded code (a reference to a path outside it).
        [CommandOption("--build")]
        [Description("Also build the recreated training project, to check that it compiles here; for a run that trained with a bundle, compare the rebuild's bundle hash with the run's.")]
        public bool Build { get; set; }

        [CommandOption("--project <PATH>")]
        [Description("Rebuild this checkout of the training project (at the commit the run's bundle names; the checkout, the project's folder or its .csproj) and compare its bundle hash with the run's; for a cluster run whose node did not have the project's source to record.")]
        public string? Project { get; set; }
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var bundle = ReadBundle(settings.Run);
        var provenance = Path.Combine(settings.Run, ProvenanceStore.DirectoryName);
        ReproducedRunCode? code = null;
        if (System.IO.Directory.Exists(provenance))
            code = RecreateCode(settings, provenance);
        else if (bundle is null || settings.Project is null)
            throw new CommandInputException(
                $"'{settings.Run}' has no provenance/ folder: the run was not trained with the provenance extension. " +
                "Add { type = provenance } to the experiment's extensions to record the code of future runs." +
                (bundle is null ? "" : $" The run trained with {bundle}: check out that commit of the project and give it with --project PATH to rebuild it and compare."));
        else
            Console.MarkupLineInterpolated($"[grey]'{settings.Run}' has no provenance/ folder: no code to recreate; comparing the bundle only.[/]");

        if (bundle is not null)
            CompareBundle(bundle, settings, code?.Project);
        else if (code?.Project?.Path is { } projectPath && settings.Build)
        {
            var build = TrainingProject.Build(projectPath);
            Console.MarkupLineInterpolated($"the training project builds: {Path.Combine(build.OutputDirectory, build.AssemblyFile)}");
        }
        if (code is not null)
            ReportHowToTrain(code);
        return ExitCodes.Success;
    }

    private ReproducedRunCode RecreateCode(Settings settings, string provenance)
    {
        if (string.IsNullOrWhiteSpace(settings.Directory))
            throw new CommandInputException($"name the directory to recreate the code of '{settings.Run}' in: trainmanager reproduce {settings.Run} DIR (an empty or new directory).");
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
        return code;
    }

    private static RecordedBundle? ReadBundle(string run)
    {
        try
        {
            return RecordedBundle.Read(run);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new CommandInputException($"the run's bundle record cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// A run that trained with a bundle: its own copy of the build (<c>code/bin</c>) must pack to the bundle's hash, and
    /// a rebuild of the project (recreated from provenance with --build, or a checkout given with --project) is compared
    /// with it file by file. Builds are byte-identical only from a committed repository with the same SDK and packages;
    /// the answer says which case this is rather than failing.
    /// </summary>
    private void CompareBundle(RecordedBundle bundle, Settings settings, ReproducedProject? recreated)
    {
        Console.MarkupLineInterpolated($"the run trained with {bundle.Project} bundle {bundle.Hash} ({bundle.Origin}, framework {bundle.FrameworkVersion})");
        var runBuildDirectory = Path.Combine(Path.GetFullPath(settings.Run), RunDirectory.CodeBuildDirectory);
        ProjectBundle? runBuild = null;
        if (ProjectBuild.OpenCopy(runBuildDirectory) is { } copy)
        {
            // Exactly the files the bundle carried were extracted there: pack them all, whatever this installation provides.
            runBuild = ProjectBundle.Pack(copy, bundle.FrameworkVersion, providedByFramework: _ => false);
            if (runBuild.Hash == bundle.Hash)
                Console.MarkupLineInterpolated($"[green]the run's build ({runBuildDirectory}) is that bundle: hash verified[/]");
            else
            {
                Console.MarkupLineInterpolated($"[yellow]the run's build ({runBuildDirectory}) packs to {runBuild.Hash}, not the bundle's: it was changed after the run.[/]");
                runBuild = null;
            }
        }
        else
            Console.MarkupLineInterpolated($"[yellow]the run's build is not in {runBuildDirectory}: the hash cannot be checked against it.[/]");

        var projectPath = settings.Project is { } given ? ProjectIn(given, bundle) : settings.Build ? recreated?.Path : null;
        if (projectPath is null)
        {
            if (recreated?.Path is not null)
                Console.MarkupLine("add --build to rebuild the recreated project and compare its bundle with the run's.");
            else
                Console.MarkupLineInterpolated(
                    $"to rebuild the bundle, check out {(bundle.Commit is { } commit ? $"commit {commit.Replace("+changes", "")}" : "the source")} of {bundle.Project} and give it with --project PATH.");
            return;
        }
        if (settings.Project is not null)
            ReportCheckout(projectPath, bundle);

        var rebuilt = ProjectBundle.Pack(TrainingProject.Build(projectPath));
        if (rebuilt.Hash == bundle.Hash)
        {
            Console.MarkupLineInterpolated($"[green]rebuilt {projectPath}: bundle {rebuilt.Hash}, the same as the run's (the build is deterministic)[/]");
            return;
        }
        Console.MarkupLineInterpolated($"[yellow]rebuilt {projectPath}: bundle {rebuilt.Hash}, not the run's {bundle.ShortHash}.[/]");
        if (runBuild is not null)
        {
            var differing = Differences(runBuild.Manifest, rebuilt.Manifest);
            if (differing.Count > 0)
                Console.MarkupLineInterpolated($"files that differ: {string.Join(", ", differing.Take(10))}{(differing.Count > 10 ? $" and {differing.Count - 10} more" : "")}");
        }
        Console.MarkupLineInterpolated($"{WhyNotTheSame(bundle)} The run's exact build is in {runBuildDirectory}; eval and check-leakage use it.");
    }

    /// <summary>The project to rebuild from what --project names: a .csproj, a folder holding one, or a checkout holding
    /// the bundle's project file (<c>Shapes.csproj</c>) somewhere below it.</summary>
    private static string ProjectIn(string given, RecordedBundle bundle)
    {
        var full = Path.GetFullPath(given);
        if (File.Exists(full) || (System.IO.Directory.Exists(full) && System.IO.Directory.GetFiles(full, "*.csproj").Length > 0))
            return full;
        if (!System.IO.Directory.Exists(full))
            throw new CommandInputException($"--project names {full}, which does not exist; give a checkout of {bundle.Project} at the commit the run's bundle names.");
        var found = System.IO.Directory.EnumerateFiles(full, bundle.Project, new EnumerationOptions { RecurseSubdirectories = true, MatchCasing = MatchCasing.CaseSensitive, MaxRecursionDepth = 8 })
            .Where(file => !Path.GetRelativePath(full, file).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or ".git"))
            .Order(StringComparer.Ordinal)
            .ToList();
        return found.Count switch
        {
            1 => Path.GetDirectoryName(found[0])!,
            0 => throw new CommandInputException($"--project names {full}, which holds no {bundle.Project}; give the checkout (or the folder) of the project the run trained with."),
            _ => throw new CommandInputException($"--project names {full}, which holds {found.Count} files named {bundle.Project} ({string.Join(", ", found.Select(f => Path.GetRelativePath(full, f)))}); give the folder of the one to rebuild."),
        };
    }

    private void ReportCheckout(string projectPath, RecordedBundle bundle)
    {
        if (bundle.Commit is not { } recorded) return;
        var here = Cluster.Submission.CommitOf(File.Exists(projectPath) ? Path.GetDirectoryName(projectPath)! : projectPath);
        if (here != recorded)
            Console.MarkupLineInterpolated($"[yellow]{projectPath} is at {here ?? "no commit"}, the run's bundle was built from {recorded}: the rebuild cannot be the same.[/]");
    }

    /// <summary>Files present in only one of the two bundles, or with other contents.</summary>
    private static List<string> Differences(BundleManifest run, BundleManifest rebuilt)
    {
        var ran = run.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
        var now = rebuilt.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
        return ran.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(path => !ran.TryGetValue(path, out var a) || !now.TryGetValue(path, out var b) || a != b)
            .Select(path => ran.ContainsKey(path) && now.ContainsKey(path) ? path : ran.ContainsKey(path) ? $"{path} (only in the run's)" : $"{path} (only in the rebuild)")
            .ToList();
    }

    private static string WhyNotTheSame(RecordedBundle bundle) => bundle.Commit switch
    {
        null => "The project was not in a git repository when it was submitted: a build outside git embeds the folder it was built in, so it differs from folder to folder.",
        { } commit when commit.EndsWith("+changes", StringComparison.Ordinal) =>
            "The project had uncommitted changes when it was submitted: the rebuild has the same bytes only when those changes are recreated exactly (provenance records them) and the same .NET SDK and packages build it.",
        _ => "A build is byte-identical only from a clone of the same commit, built with the same .NET SDK and package versions; check `dotnet --version` and the project's package versions against the node's.",
    };

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
