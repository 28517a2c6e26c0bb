using System.Runtime.InteropServices;
using System.Text.Json;
using TrainManager.Experiments;
using TrainManager.Runtime;
using TrainManager.Stages;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Records where a run came from, before it trains: the exact code (commit, branch, remotes, a patch of every
/// uncommitted change and the tree id, see <see cref="ProvenanceRecorder"/>) in <c>provenance/</c>, the training
/// project's when the experiment names one (<see cref="ProjectProvenance"/>, in <c>provenance/code/</c>), and the
/// environment (.NET, TorchSharp, libtorch, device, OS, CPU, seed) in <c>environment.json</c>.
/// <c>trainmanager reproduce RUN DIR</c> gives the code back.
/// </summary>
/// <param name="project">The experiment's training project (<c>code.project</c>), null when it names none.</param>
/// <param name="experimentFile">The experiment file, so that a reproduction can say which file to train again.</param>
public sealed class ProvenanceExtension(string runDirectory, string workingDirectory, string? project = null, string? experimentFile = null)
    : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    public override string Name => "provenance";

    public CodeProvenance? Code { get; private set; }

    /// <summary>The training project's record; null when the experiment names no project.</summary>
    public ProjectProvenance? Project { get; private set; }

    /// <param name="repository">The working copy to record; by default the one holding the experiment file.</param>
    [Component("provenance", Description = "git commit, diff and environment of the run and of its training project")]
    public static ProvenanceExtension Create(ExtensionContext context,
        [Setting("the working copy to record; default: the experiment file's folder")] string? repository = null) =>
        new(context.RequireRunDirectory("provenance"),
            repository ?? (context.Experiment.SourceFile is { } file ? Path.GetDirectoryName(Path.GetFullPath(file))! : Environment.CurrentDirectory),
            context.Experiment.Code?.Project,
            context.Experiment.SourceFile);

    public void PreFit(Device device, long seed)
    {
        Code = ProvenanceRecorder.Capture(workingDirectory);
        var provenanceDirectory = ProvenanceStore.Save(Code, runDirectory);
        if (project is not null)
        {
            Project = ProjectProvenance.Capture(project, Code, experimentFile);
            ProjectProvenanceStore.Save(Project, provenanceDirectory);
        }

        var torchInfo = TorchRuntime.Describe();
        var environment = new Dictionary<string, object?>
        {
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["torchsharp"] = torchInfo.TorchSharpVersion,
            ["libtorch"] = torchInfo.LibTorchVersion,
            ["device"] = device.ToString(),
            ["cuda_available"] = cuda.is_available(),
            ["os"] = RuntimeInformation.OSDescription,
            ["architecture"] = RuntimeInformation.ProcessArchitecture.ToString(),
            ["processors"] = Environment.ProcessorCount,
            ["cpu"] = CpuModel(),
            ["machine"] = Environment.MachineName,
            ["seed"] = seed,
            ["recorded_at"] = DateTimeOffset.UtcNow,
        };
        File.WriteAllText(Path.Combine(runDirectory, "environment.json"),
            JsonSerializer.Serialize(environment, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string? CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return null;
        return File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
    }
}
