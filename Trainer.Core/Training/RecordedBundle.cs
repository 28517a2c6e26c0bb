using System.Text.Json;

namespace TrainManager.Training;

/// <summary>
/// The bundle of the training project a cluster run trained with, as its run directory records it in
/// <c>code/bundle.json</c> beside the build itself (<c>code/bin</c>): the bundle's name (SHA-256 of its canonical
/// archive), size, project, main assembly, the framework version it was built against and the commit of the project's
/// repository it was built from. <c>report.html</c> shows it and <c>trainmanager reproduce</c> compares a rebuild with it.
/// </summary>
/// <param name="Commit">The project's commit ("+changes" when its tree had uncommitted changes); null outside git.</param>
public sealed record RecordedBundle(string Hash, long Size, string Project, string Assembly, string FrameworkVersion, string? Commit)
{
    public const string FileName = "bundle.json";

    /// <summary>The first 12 hex digits: how logs and reports name a bundle.</summary>
    public string ShortHash => Shorten(Hash);

    /// <summary>The first 12 hex digits of a bundle's name (the whole of a shorter one).</summary>
    public static string Shorten(string hash) => hash.Length > 12 ? hash[..12] : hash;

    /// <summary><c>commit 3f2a9c0…</c>, or that the project was in no git repository.</summary>
    public string Origin => Commit is null ? "not from a git repository" : $"commit {Commit}";

    public override string ToString() => $"{Project} bundle {ShortHash}{(Commit is null ? "" : $" (commit {Commit})")}";

    public static string PathIn(string runDirectory) => System.IO.Path.Combine(runDirectory, "code", FileName);

    public void WriteTo(string runDirectory)
    {
        var file = PathIn(runDirectory);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        TrainManager.Runtime.AtomicFile.Write(file, JsonSerializer.SerializeToUtf8Bytes(this, RunDirectory.Json));
    }

    /// <summary>The bundle <paramref name="runDirectory"/> recorded; null for a run that used none.</summary>
    /// <exception cref="InvalidDataException">The file is there but cannot be read as a bundle record.</exception>
    public static RecordedBundle? Read(string runDirectory)
    {
        var file = PathIn(runDirectory);
        if (!File.Exists(file)) return null;
        try
        {
            var bundle = JsonSerializer.Deserialize<RecordedBundle>(File.ReadAllBytes(file), RunDirectory.Json);
            if (bundle is null || string.IsNullOrEmpty(bundle.Hash) || string.IsNullOrEmpty(bundle.Project))
                throw new InvalidDataException($"{file} does not name a bundle (no Hash or Project).");
            return bundle;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not a bundle record: {e.Message}", e);
        }
    }
}
