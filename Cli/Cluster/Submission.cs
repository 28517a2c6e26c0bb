using System.Text.Json;
using TrainManager.Checkpoints;
using TrainManager.Components;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Node.Workers;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Provenance;
using TrainManager.Models;
using TrainManager.Training;

namespace TrainManager.Cli.Cluster;

/// <summary>Turns an experiment file into what the coordinator journals: the same checks as a local run first, so a
/// mistake is reported here, with its file and line, before anything reaches the cluster.</summary>
public static class Submission
{
    /// <summary>Loads and checks the experiment (file, overrides, extension types, model arguments), against the
    /// built-ins and, when it names one (<c>code.project</c>), its own training project, built here.</summary>
    /// <exception cref="ExperimentException">The experiment is invalid; the message has file, line and key.</exception>
    /// <exception cref="ProjectBuildException">Its project does not build; the message has the compiler's errors.</exception>
    public static LoadedExperiment Load(string file, IEnumerable<string> overrides, ComponentCatalog catalog, Spectre.Console.IAnsiConsole console,
        out ModelSpec model)
    {
        var loaded = ExperimentComponents.Load(file, overrides, catalog, console);
        model = loaded.ResolveModel();
        return loaded;
    }

    /// <summary>
    /// The bundle of a built training project, and how the journal names it: the archive's hash, the project, the
    /// framework version it was compiled against, the commit of its repository (with <c>+changes</c> when the tree was
    /// not clean), and a MAC under the cluster's bundle key.
    /// </summary>
    public static (ProjectBundle Bundle, BundleRef Reference) Bundle(ProjectBuild build, BundleKey key)
    {
        var bundle = ProjectBundle.Pack(build);
        var commit = CommitOf(Path.GetDirectoryName(Path.GetFullPath(build.ProjectFile))!);
        var manifest = bundle.Manifest;
        return (bundle, new BundleRef(bundle.Hash, bundle.Bytes.LongLength, manifest.Project, manifest.Assembly, manifest.FrameworkVersion, commit,
            key.Sign(bundle.Hash)));
    }

    /// <summary>The commit of the repository <paramref name="folder"/> is in, with <c>+changes</c> when its tree is not
    /// clean; null outside a repository git can read.</summary>
    public static string? CommitOf(string folder)
    {
        try
        {
            var code = ProvenanceRecorder.Capture(folder);
            return code.Commit is { } commit ? commit + (code.IsDirty ? "+changes" : "") : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not in a repository git can read: the bundle is named by its hash alone.
            return null;
        }
    }

    /// <summary>The submission of <paramref name="experiment"/>; the worker that takes it writes the run under its own runs directory.</summary>
    /// <param name="checkpointKey">The cluster's checkpoint key: the checkpoint to resume from must verify under it
    /// here, before it is submitted (the worker checks it again).</param>
    /// <exception cref="CheckpointAuthenticationException">The resume checkpoint does not verify under the key.</exception>
    public static SubmitExperiment Create(Experiment experiment, ModelSpec model, string? resumeCheckpoint, CheckpointKey? checkpointKey,
        BundleRef? bundle = null, TrainManager.Data.DatasetFingerprint? data = null) => new(
        experiment.Name,
        ExperimentHoconWriter.TextOf(experiment),
        JsonSerializer.Serialize(Instantiation.Describe(experiment, model, []), RunDirectory.Json),
        Provenance(experiment.SourceFile),
        experiment.Device,
        null,
        $"{Environment.UserName}@{Environment.MachineName}",
        resumeCheckpoint is null ? null : Checkpoint(resumeCheckpoint, checkpointKey),
        experiment.SourceFile is { } file ? Path.GetFullPath(file) : null,
        bundle,
        data);

    /// <summary>A checkpoint to start from, with the checksum it has now: a resume on any node verifies it against that.</summary>
    static CheckpointRecord Checkpoint(string path, CheckpointKey? key)
    {
        var full = Path.GetFullPath(path);
        var info = new CheckpointStore(Path.GetDirectoryName(full)!, key).ReadInfo(full); // verifies its checksum and MAC, too
        return new CheckpointRecord(full, CheckpointChecksum.Of(full), info.Metadata.Epoch, info.Metadata.Step, new Dictionary<string, double>());
    }

    /// <summary>Which code the submitter's working tree holds (the one the experiment file is in, as for the provenance
    /// extension); a tree that git cannot describe is said so, not fatal.</summary>
    static ProvenanceSummary Provenance(string? experimentFile)
    {
        try
        {
            var p = ProvenanceRecorder.Capture(experimentFile is null
                ? Environment.CurrentDirectory
                : Path.GetDirectoryName(Path.GetFullPath(experimentFile))!);
            return new ProvenanceSummary(p, p.ToString());
        }
        catch (Exception e)
        {
            return ProvenanceSummary.Unknown($"not recorded: {e.Message}");
        }
    }
}
