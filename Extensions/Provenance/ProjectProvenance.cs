namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Which code the experiment's training project (<c>code { project = ... }</c>) was built from. A project inside the
/// experiment's own working tree is already covered by the experiment's record and says so
/// (<see cref="SharesExperimentRepository"/>); any other project's working tree is recorded on its own
/// (<see cref="Code"/>), which may say that it is in no repository at all.
/// </summary>
public sealed record ProjectProvenance
{
    /// <summary>The project as the experiment named it: its folder or its .csproj, absolute.</summary>
    public required string Project { get; init; }

    /// <summary>The project's path relative to the root of its repository ('/'-separated; "." for the root); null outside one.</summary>
    public string? PathInRepository { get; init; }

    /// <summary>True when the project lies in the working tree recorded for the experiment, so it was not recorded twice.</summary>
    public required bool SharesExperimentRepository { get; init; }

    /// <summary>The experiment file relative to the experiment's repository root; null when unknown or outside it.</summary>
    public string? ExperimentFile { get; init; }

    /// <summary>The project's own working tree; null when <see cref="SharesExperimentRepository"/>.</summary>
    public CodeProvenance? Code { get; init; }

    /// <summary>
    /// Records <paramref name="project"/> against what was already recorded for the experiment: a reference when it
    /// shares the experiment's working tree, else a capture of its own (never an exception for a project outside git).
    /// </summary>
    public static ProjectProvenance Capture(string project, CodeProvenance experimentCode, string? experimentFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(project);
        ArgumentNullException.ThrowIfNull(experimentCode);
        var projectPath = Path.GetFullPath(project);
        var folder = File.Exists(projectPath) ? Path.GetDirectoryName(projectPath)! : projectPath;

        var root = ProvenanceRecorder.RepositoryRootOf(folder);
        var shares = root is not null && experimentCode.RepositoryRoot is { } experimentRoot && SamePath(root, experimentRoot);
        var code = shares ? null : ProvenanceRecorder.Capture(folder);
        var projectRoot = shares ? root : code!.RepositoryRoot;

        return new ProjectProvenance
        {
            Project = projectPath,
            PathInRepository = projectRoot is null ? null : RelativeInside(projectRoot, projectPath),
            SharesExperimentRepository = shares,
            ExperimentFile = experimentFile is not null && experimentCode.RepositoryRoot is { } rootOfExperiment
                ? RelativeInside(rootOfExperiment, Path.GetFullPath(experimentFile))
                : null,
            Code = code,
        };
    }

    /// <summary><paramref name="path"/> relative to <paramref name="root"/>, '/'-separated; null when it lies outside.</summary>
    private static string? RelativeInside(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        if (relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative))
            return null;
        return relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    private static bool SamePath(string a, string b) => string.Equals(
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)),
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
