using Akka.Actor;
using TrainManager.Checkpoints;
using TrainManager.Coordinator.Cluster.Protocol;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Coordinator.Cluster.Workers;

/// <summary>What a worker slot needs besides its device: where runs live, and how to build a run's extensions.</summary>
/// <param name="RunsDirectory">The shared runs directory (every node mounts it at the same path), used when a submission
/// does not name its own.</param>
/// <param name="CatalogForRun">The extension catalog for a run: on a node, console extensions write to the node's log
/// with the run id; in the embedded <c>train</c>, to the user's terminal.</param>
public sealed record WorkerSettings(string RunsDirectory, TimeSpan ProgressInterval, Func<string, ExtensionCatalog> CatalogForRun);

/// <summary>A run could not be prepared (bad experiment, data not found, no trustworthy checkpoint, ...).</summary>
public sealed class TrainingPreparationException(string reason, FailureKind kind, string? errorFile, Exception inner)
    : Exception(reason, inner)
{
    public FailureKind Kind { get; } = kind;
    public string? ErrorFile { get; } = errorFile;
}

/// <summary>
/// One run on one slot: the run directory, the checkpoint it resumes from, the trainer with the experiment's
/// extensions plus the worker's own (reporting, stopping). Built off the actor's thread, since loading data takes time.
/// </summary>
public sealed class TrainingJob : IDisposable
{
    readonly IReadOnlyList<Extension> _extensions;

    TrainingJob(string runId, RunDirectory run, Trainer trainer, ResumePoint.Choice resume, StopWhenAsked stop, IReadOnlyList<Extension> extensions)
    {
        RunId = runId;
        Run = run;
        Trainer = trainer;
        Resume = resume;
        Stop = stop;
        _extensions = extensions;
    }

    public string RunId { get; }
    public RunDirectory Run { get; }
    public Trainer Trainer { get; }
    public ResumePoint.Choice Resume { get; }
    public StopWhenAsked Stop { get; }

    /// <exception cref="TrainingPreparationException">The message says what is wrong; the full error is in the run directory
    /// when one could be created.</exception>
    public static TrainingJob Prepare(StartTraining start, SlotAddress slot, WorkerSettings settings, IActorRef worker)
    {
        RunDirectory? run = null;
        try
        {
            var catalog = settings.CatalogForRun(start.RunId);
            // The slot decides the exact device: a cuda experiment placed on slot cuda:1 trains on cuda:1, and the
            // override is recorded in the run's experiment.hocon like any other.
            var experiment = ExperimentLoader.Parse(start.ExperimentHocon, $"run {start.RunId}", extensionTypes: catalog.Names);
            // The run directory keeps the submitted text as it was (with its "# Override:" lines), not a re-rendering.
            var recorded = start.ExperimentHocon;
            if (!string.Equals(experiment.Device, slot.Device, StringComparison.OrdinalIgnoreCase))
            {
                experiment = ExperimentLoader.Parse(start.ExperimentHocon, $"run {start.RunId}", [$"device={slot.Device}"], catalog.Names);
                recorded += $"\n# Placed on worker slot {slot}: it trains on that slot's device.\ndevice = \"{slot.Device}\"\n";
            }
            // Where the experiment file is, when this machine has it (the embedded run, a shared checkout): extensions such as
            // provenance look for the code beside it.
            var sourceFile = start.SourceFile is { } file && File.Exists(file) ? file : null;
            experiment = experiment with { ResolvedHocon = recorded, SourceFile = sourceFile };

            var root = Path.GetFullPath(start.RunsRoot ?? settings.RunsDirectory);
            var existing = Path.Combine(root, start.RunId);
            run = File.Exists(Path.Combine(existing, "experiment.hocon"))
                ? RunDirectory.Open(existing)
                : RunDirectory.Create(experiment, root, start.RunId);

            var resume = ResumePoint.Choose(start.ResumeCandidates);
            var extensions = catalog.CreateAll(new ExtensionContext(run.Path, experiment));
            var trainer = Trainer.FromExperiment(experiment, run, extensions);
            var stop = new StopWhenAsked();
            trainer.Register(stop);
            trainer.Register(new RunReporter(start.RunId, worker, () => trainer.Step));
            trainer.Register(new ProgressReporter(start.RunId, worker, settings.ProgressInterval));
            return new TrainingJob(start.RunId, run, trainer, resume, stop, extensions);
        }
        catch (Exception e)
        {
            var errorFile = run is null ? null : WriteError(run, e);
            throw new TrainingPreparationException(FailureText.Describe(e), FailureText.KindOf(e), errorFile, e);
        }
    }

    public FitResult Fit() => Trainer.Fit(Resume.Checkpoint?.Path);

    public string WriteError(Exception e) => WriteError(Run, e);

    static string WriteError(RunDirectory run, Exception e)
    {
        // The run directory is the record of the run, failures included; the report carries the short message.
        var file = Path.Combine(run.Path, "error.txt");
        File.WriteAllText(file, e.ToString());
        return file;
    }

    public void Dispose()
    {
        foreach (var disposable in _extensions.OfType<IDisposable>())
            disposable.Dispose();
        Trainer.Dispose();
    }
}

/// <summary>How a failure is told: the message chain without stack traces, and whose mistake it was.</summary>
public static class FailureText
{
    public static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
            if (messages.Count == 0 || !messages[^1].Contains(current.Message, StringComparison.Ordinal))
                messages.Add(current.Message);
        return string.Join(" ← ", messages);
    }

    /// <summary>The same rule as the CLI's: only the failure itself counts, not what it wraps (a hook that failed
    /// because of a missing file is still a failed run).</summary>
    public static FailureKind KindOf(Exception e) =>
        e is ExperimentException or ModelConfigurationException or DatasetNotFoundException or CheckpointCorruptException
            or NoUsableCheckpointException
            ? FailureKind.BadInput
            : FailureKind.RunFailed;
}
