using System.Text.Json;
using TrainManager.Protocol;

namespace TrainManager.Node.Bundles;

/// <summary>
/// Which bundle a run trained with, in its run directory (<c>code/bundle.json</c>): the hash, project, assembly,
/// framework version and commit, read by <c>report.html</c>, <c>eval</c> and <c>reproduce</c> (which rebuilds the
/// project from provenance and compares the hash).
/// </summary>
public static class RunBundle
{
    public const string FileName = "bundle.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, "code", FileName);

    public static void Record(string runDirectory, BundleRef bundle)
    {
        var file = PathIn(runDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        TrainManager.Runtime.AtomicFile.Write(file, JsonSerializer.SerializeToUtf8Bytes(bundle with { Mac = "" }, Json));
    }

    /// <summary>The bundle a run recorded; null for a run that used none.</summary>
    public static BundleRef? Read(string runDirectory)
    {
        var file = PathIn(runDirectory);
        return File.Exists(file) ? JsonSerializer.Deserialize<BundleRef>(File.ReadAllBytes(file), Json) : null;
    }
}

/// <summary>A run needs a bundle where none can be fetched (a worker made without a cache or coordinator).</summary>
public sealed class BundleUnsupportedException(string message) : Exception(message), TrainManager.Experiments.IBadInput;
