namespace TrainManager.Extensions.Provenance;

/// <summary>Where a run's training project is after <see cref="RunCodeReproducer.Reproduce"/>.</summary>
/// <param name="OriginalPath">The project as the run named it.</param>
/// <param name="Path">The recreated project (its folder or .csproj, as the run named it); null when it could not be recreated.</param>
/// <param name="OwnRepository">The project's own recreated repository; null when it lies in the experiment's.</param>
/// <param name="NotReproducedReason">Why <paramref name="Path"/> is null.</param>
public sealed record ReproducedProject(string OriginalPath, string? Path, ReproducedCode? OwnRepository, string? NotReproducedReason);

/// <summary>What <see cref="RunCodeReproducer.Reproduce"/> recreated: the experiment's repository, the experiment file in it
/// (when recorded) and the training project (null when the run named none, or was recorded before projects were).</summary>
public sealed record ReproducedRunCode(ReproducedCode Experiment, string? ExperimentFile, ReproducedProject? Project);

/// <summary>
/// Recreates all the code of a run: the experiment's repository in the target directory, and a training project that
/// had a repository of its own in <c>code/</c> inside it (kept out of the experiment's git status by a local exclude,
/// so recording provenance from the recreated tree gives the recorded tree id again). Each is verified by its tree id.
/// </summary>
public static class RunCodeReproducer
{
    public const string ProjectDirectoryName = "code";

    /// <exception cref="ProvenanceReproductionException">A step failed; <see cref="ProvenanceTreeMismatchException"/> when a result differs.</exception>
    /// <exception cref="InvalidDataException">The provenance directory is missing files or damaged.</exception>
    public static ReproducedRunCode Reproduce(string provenanceDirectory, string targetDirectory)
    {
        // Read the project's record first: a damaged one fails before anything is cloned.
        var project = ProjectProvenanceStore.Load(provenanceDirectory);
        var experiment = ProvenanceReproducer.Reproduce(provenanceDirectory, targetDirectory);
        if (project is null)
            return new ReproducedRunCode(experiment, null, null);

        var experimentFile = project.ExperimentFile is { } file ? Path.GetFullPath(Path.Combine(experiment.TargetDirectory, file)) : null;
        return new ReproducedRunCode(experiment, experimentFile, ReproduceProject(project, provenanceDirectory, experiment.TargetDirectory));
    }

    private static ReproducedProject ReproduceProject(ProjectProvenance project, string provenanceDirectory, string experimentTree)
    {
        if (project.SharesExperimentRepository)
            return new ReproducedProject(project.Project, Path.GetFullPath(Path.Combine(experimentTree, project.PathInRepository ?? ".")), null, null);
        if (project.Code is not { IsGitRepository: true })
        {
            return new ReproducedProject(project.Project, null, null,
                $"it was not in a git working tree ({project.Code?.NotInRepositoryReason ?? "no record"}), so its exact code was not recorded");
        }

        var name = FreeName(experimentTree);
        ExcludeFromGitStatus(experimentTree, name);
        var own = ProvenanceReproducer.Reproduce(ProjectProvenanceStore.DirectoryIn(provenanceDirectory), Path.Combine(experimentTree, name));
        return new ReproducedProject(project.Project, Path.GetFullPath(Path.Combine(own.TargetDirectory, project.PathInRepository ?? ".")), own, null);
    }

    /// <summary><c>code</c>, unless the experiment's own tree already has an entry of that name.</summary>
    private static string FreeName(string experimentTree)
    {
        var name = ProjectDirectoryName;
        for (var suffix = 2; Path.Exists(Path.Combine(experimentTree, name)); suffix++)
            name = $"{ProjectDirectoryName}-{suffix}";
        return name;
    }

    private static void ExcludeFromGitStatus(string experimentTree, string name)
    {
        var git = new GitCommandLine(experimentTree);
        var exclude = Path.GetFullPath(git.RunText(["rev-parse", "--git-path", "info/exclude"]), experimentTree);
        Directory.CreateDirectory(Path.GetDirectoryName(exclude)!);
        var existing = File.Exists(exclude) ? File.ReadAllText(exclude) : "";
        var separator = existing.Length == 0 || existing.EndsWith('\n') ? "" : "\n";
        File.AppendAllText(exclude, $"{separator}# the run's training project, recreated from its own repository\n/{name}/\n");
    }
}
