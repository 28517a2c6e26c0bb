using System.Text.Json;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Keeps a run's <see cref="ProjectProvenance"/> in <c>provenance/code/</c>: <c>project.json</c> (which project, where it
/// lies in its repository, whether it shares the experiment's) and, when the project was recorded on its own, its
/// <c>provenance.json</c> and <c>uncommitted.patch</c> in <see cref="ProvenanceStore"/>'s format.
/// </summary>
public static class ProjectProvenanceStore
{
    public const string DirectoryName = "code";
    public const string ManifestFileName = "project.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The folder of the project's record inside a run's provenance directory.</summary>
    public static string DirectoryIn(string provenanceDirectory) => Path.Combine(provenanceDirectory, DirectoryName);

    /// <summary>Writes the project's record into <paramref name="provenanceDirectory"/> and returns its folder.</summary>
    public static string Save(ProjectProvenance project, string provenanceDirectory)
    {
        ArgumentNullException.ThrowIfNull(project);
        var directory = DirectoryIn(Path.GetFullPath(provenanceDirectory));
        Directory.CreateDirectory(directory);
        if (project.Code is { } code)
            ProvenanceStore.SaveIn(code, directory);
        var manifest = new ProjectManifest(ProjectManifest.CurrentFormatVersion, project.Project, project.PathInRepository,
            project.SharesExperimentRepository, project.ExperimentFile);
        File.WriteAllText(Path.Combine(directory, ManifestFileName), JsonSerializer.Serialize(manifest, Json));
        return directory;
    }

    /// <summary>Reads what <see cref="Save"/> wrote; null for a run whose experiment named no training project.</summary>
    /// <exception cref="InvalidDataException">A file is missing, unreadable, of an unknown format version or damaged.</exception>
    public static ProjectProvenance? Load(string provenanceDirectory)
    {
        var directory = DirectoryIn(provenanceDirectory);
        var manifestPath = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(manifestPath))
            return null;

        ProjectManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ProjectManifest>(File.ReadAllText(manifestPath), Json)
                ?? throw new InvalidDataException($"{manifestPath} is empty.");
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{manifestPath} is not a valid training project record: {exception.Message}", exception);
        }

        if (manifest.FormatVersion != ProjectManifest.CurrentFormatVersion)
        {
            throw new InvalidDataException(
                $"{manifestPath} has format version {manifest.FormatVersion}; this version of TrainManager reads version {ProjectManifest.CurrentFormatVersion}.");
        }

        return new ProjectProvenance
        {
            Project = manifest.Project,
            PathInRepository = manifest.PathInRepository,
            SharesExperimentRepository = manifest.SharesExperimentRepository,
            ExperimentFile = manifest.ExperimentFile,
            Code = manifest.SharesExperimentRepository ? null : ProvenanceStore.Load(directory),
        };
    }

    private sealed record ProjectManifest(int FormatVersion, string Project, string? PathInRepository, bool SharesExperimentRepository, string? ExperimentFile)
    {
        public const int CurrentFormatVersion = 1;
    }
}
