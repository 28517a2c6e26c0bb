using System.Text.Json;
using TrainManager.Experiments;

namespace TrainManager.Training;

/// <summary>
/// <c>runs/&lt;run-id&gt;/</c>: everything about one run, readable without the tool — the resolved experiment,
/// the instantiation parameters, metrics (JSON lines), checkpoints, and what extensions add (plots, events, provenance).
/// </summary>
public sealed class RunDirectory
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Where a run keeps the build of the training project it trained with (relative to the run).</summary>
    public const string CodeBuildDirectory = "code/bin";

    private RunDirectory(string path, string id)
    {
        Path = path;
        Id = id;
    }

    public string Id { get; }
    public string Path { get; }
    public string ExperimentFile => System.IO.Path.Combine(Path, "experiment.hocon");
    public string InstantiationFile => System.IO.Path.Combine(Path, "instantiation.json");
    public string MetricsDirectory => Sub("metrics");
    public string CheckpointDirectory => Sub("checkpoints");
    public string PlotsDirectory => Sub("plots");
    /// <summary>The copy of the training project's build the run used (see <see cref="Components.ProjectBuild"/>); absent when it named none.</summary>
    public string CodeBuild => System.IO.Path.Combine(Path, CodeBuildDirectory);

    /// <summary>Creates a new run directory (<c>yyyyMMdd-HHmmss-name-xxxxxxxx</c>) under the experiment's runs
    /// directory. The run claims it by creating its <c>experiment.hocon</c> exclusively, so two runs never share one:
    /// a generated id that is taken is replaced by another, a given one is refused.</summary>
    /// <param name="id">The run id to use, when it was chosen earlier (a cluster's coordinator names a run when it is
    /// submitted, before any node creates its directory); a new one (<see cref="NewId"/>) otherwise.</param>
    /// <exception cref="IOException">The given id names a run directory that already holds a run.</exception>
    public static RunDirectory Create(Experiment experiment, string? runsDirectory = null, string? id = null)
    {
        var root = System.IO.Path.GetFullPath(runsDirectory ?? experiment.RunsDirectory);
        if (id is not null && (id.Length == 0 || id.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0 || id is "." or ".."))
            throw new ArgumentException($"'{id}' cannot name a run directory; use letters, digits, '-' and '_'.", nameof(id));
        for (var attempt = 0; ; attempt++)
        {
            var runId = id ?? NewId(experiment.Name);
            var path = System.IO.Path.Combine(root, runId);
            Directory.CreateDirectory(path);
            var run = new RunDirectory(path, runId);
            try
            {
                using var claim = new FileStream(run.ExperimentFile, FileMode.CreateNew, FileAccess.Write);
                claim.Write(System.Text.Encoding.UTF8.GetBytes(ExperimentHoconWriter.TextOf(experiment)));
                return run;
            }
            catch (IOException) when (File.Exists(run.ExperimentFile))
            {
                if (id is not null || attempt >= 16)
                    throw new IOException($"The run directory {path} already holds a run (it has an experiment.hocon); a new run " +
                                          "never writes into another's. Pick another run id, or move that directory away.");
            }
        }
    }

    /// <summary>A new run id, <c>yyyyMMdd-HHmmss-name-xxxxxxxx</c>: sorts by start time, says what ran, and 32 random
    /// bits keep two runs started in the same second apart.</summary>
    public static string NewId(string experimentName)
    {
        var safeName = string.Concat(experimentName.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-'));
        return $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{safeName}-{System.Security.Cryptography.RandomNumberGenerator.GetHexString(8, lowercase: true)}";
    }

    /// <summary>Opens an existing run directory.</summary>
    public static RunDirectory Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(System.IO.Path.Combine(full, "experiment.hocon")))
            throw new DirectoryNotFoundException($"'{path}' is not a run directory (it has no experiment.hocon). Pass a directory under runs/, or a checkpoint file.");
        return new RunDirectory(full, System.IO.Path.GetFileName(full));
    }

    /// <summary>A subdirectory, created on first use.</summary>
    public string Sub(string name)
    {
        var dir = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void WriteJson<T>(string relativePath, T value)
    {
        var file = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, JsonSerializer.Serialize(value, Json));
    }

    public override string ToString() => Path;
}
