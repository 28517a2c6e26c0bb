using System.Text.Json;
using TrainManager.Checkpoints;
using TrainManager.Components;
using TrainManager.Protocol;
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
    /// <summary>Loads and checks the experiment (file, overrides, extension types, model arguments).</summary>
    /// <exception cref="ExperimentException">The experiment is invalid; the message has file, line and key.</exception>
    public static Experiment Load(string file, IEnumerable<string> overrides, ComponentCatalog catalog, out ModelSpec model)
    {
        var experiment = ExperimentLoader.Load(file, overrides, catalog);
        if (experiment.Code is { } code)
            // The cluster's nodes build runs from the catalog they started with; a project of one's own reaches them only
            // when it is installed beside them.
            throw new ExperimentException(
                $"this experiment names its own training project ({code.Project}), which the cluster's nodes do not have: a cluster runs only the " +
                "components its nodes were started with. Train it locally with `trainmanager train`, or drop code { ... } to use the built-ins.",
                experiment.SourceFile, keyPath: "code.project");
        model = catalog.Models.Resolve(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
        return experiment;
    }

    /// <summary>The submission of <paramref name="experiment"/>; the worker that takes it writes the run under its own runs directory.</summary>
    /// <param name="checkpointKey">The cluster's checkpoint key: the checkpoint to resume from must verify under it
    /// here, before it is submitted (the worker checks it again).</param>
    /// <exception cref="CheckpointAuthenticationException">The resume checkpoint does not verify under the key.</exception>
    public static SubmitExperiment Create(Experiment experiment, ModelSpec model, string? resumeCheckpoint, CheckpointKey? checkpointKey) => new(
        experiment.Name,
        ExperimentHoconWriter.TextOf(experiment),
        JsonSerializer.Serialize(Instantiation.Describe(experiment, model, []), RunDirectory.Json),
        Provenance(experiment.SourceFile),
        experiment.Device,
        null,
        $"{Environment.UserName}@{Environment.MachineName}",
        resumeCheckpoint is null ? null : Checkpoint(resumeCheckpoint, checkpointKey),
        experiment.SourceFile is { } file ? Path.GetFullPath(file) : null);

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
