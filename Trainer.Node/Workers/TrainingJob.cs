using TrainManager.Protocol.Configuration;
using Akka.Actor;
using TrainManager.Checkpoints;
using TrainManager.Protocol;
using TrainManager.Data;
using TrainManager.Distributed;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Models;
using TrainManager.Node.GradientExchange;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Node.Workers;

/// <summary>What a worker slot needs besides its device: where runs live, and how to build a run's extensions.</summary>
/// <param name="RunsDirectory">The shared runs directory (every node mounts it at the same path), used when a submission
/// does not name its own.</param>
/// <param name="Components">The catalog runs are built from, and the services each run's components get.</param>
/// <param name="RingConnectTimeout">How long the ranks of a data-parallel run may take to form their gradient exchange
/// (ring or in-process): it covers the slowest rank's loading of data and model, since each joins once it is ready.</param>
/// <param name="CheckpointKey">Signs the checkpoints runs write and authenticates the ones they resume from (the
/// cluster's, <see cref="Hosting.TrainManagerSettings.CheckpointKey"/>); null: unsigned, checksum only.</param>
/// <param name="DataRoots">The folders an experiment's data.path may name on this node (full paths); null: any.</param>
public sealed record WorkerSettings(string RunsDirectory, TimeSpan ProgressInterval, NodeComponents Components,
    TimeSpan? RingConnectTimeout = null, CheckpointKey? CheckpointKey = null, IReadOnlyList<string>? DataRoots = null)
{
    public static readonly TimeSpan DefaultRingConnectTimeout = TrainManagerSettings.DefaultRingConnectTimeout;

    /// <summary>Where this node's ranks meet for an in-process exchange, and which data endpoints are this process's;
    /// the slots of one node share it (one settings object per node).</summary>
    public InProcessExchanges InProcess { get; init; } = new();

    /// <summary>This node's cache of the bundles of users' training projects; null: the node runs no submitted project
    /// (a run that names one fails, saying so).</summary>
    public Bundles.NodeBundles? Bundles { get; init; }

    /// <summary>How long a node waits for the coordinator to say where a bundle is.</summary>
    public TimeSpan BundleAskTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>Where a node lets an experiment read data: under the node's data roots, nowhere else.</summary>
public static class DataRoots
{
    /// <exception cref="DataPathRefusedException"><paramref name="path"/> is outside every root.</exception>
    public static void Require(string? path, IReadOnlyList<string>? roots)
    {
        if (path is null || roots is null)
            return; // the node's own dataset locations (data.path unset), or settings made without roots (tests)
        var full = Path.GetFullPath(path);
        if (roots.Any(root => IsUnder(full, root)))
            return;
        throw new DataPathRefusedException(roots.Count == 0
            ? $"data.path '{full}' cannot be read on this node: it allows no data folders (trainmanager.node.data-roots is empty). Ask its operator to add the folder with --data-roots or TRAINMANAGER_DATA_ROOTS."
            : $"data.path '{full}' is outside the folders this node reads data from ({string.Join(", ", roots)}). Put the data under one of them, or ask the node's operator to add its folder (--data-roots, TRAINMANAGER_DATA_ROOTS, trainmanager.node.data-roots).");
    }

    static bool IsUnder(string path, string root)
    {
        var withSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path == root.TrimEnd(Path.DirectorySeparatorChar) || path.StartsWith(withSeparator, StringComparison.Ordinal);
    }
}

/// <summary>An experiment names data outside the node's data roots: bad input, refused before anything is read.</summary>
public sealed class DataPathRefusedException(string message) : Exception(message), TrainManager.Experiments.IBadInput;

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
/// <para>
/// As rank r &gt; 0 of a data-parallel run it shares rank 0's run directory without writing to it: rank 0 writes the
/// checkpoints, metrics and files of the run, and the other ranks keep what is theirs (their errors, and whatever
/// their extensions write) under <c>rank-r/</c> in it. The gradient exchange is formed once the trainer is built.
/// </para>
/// </summary>
public sealed class TrainingJob : IDisposable
{
    readonly IReadOnlyList<Extension> _extensions;
    readonly string _ownDirectory;
    readonly bool _createdRunDirectory;
    bool _disposed;
    /// <summary>The run's own load context of its bundle, and the cache it came from (released when the job ends).</summary>
    (Components.LoadedProject Project, BundleRef Bundle, Bundles.NodeBundles Cache)? _bundle;

    TrainingJob(string runId, int rank, string runPath, string ownDirectory, Trainer trainer, ResumePoint.Choice resume, StopWhenAsked stop,
        DataParallelExtension? dataParallel, IReadOnlyList<Extension> extensions, bool createdRunDirectory)
    {
        _createdRunDirectory = createdRunDirectory;
        RunId = runId;
        Rank = rank;
        RunPath = runPath;
        _ownDirectory = ownDirectory;
        Trainer = trainer;
        Resume = resume;
        Stop = stop;
        DataParallel = dataParallel;
        _extensions = extensions;
    }

    public string RunId { get; }
    public int Rank { get; }
    /// <summary>The run directory (rank 0 writes it).</summary>
    public string RunPath { get; }
    public Trainer Trainer { get; }
    public ResumePoint.Choice Resume { get; }
    public StopWhenAsked Stop { get; }
    public DataParallelExtension? DataParallel { get; }

    /// <summary>Closes the gradient exchange at once (from any thread): the fit fails at its next exchange, and so do
    /// the other ranks'. Used when the run re-forms after losing a rank.</summary>
    public void AbandonExchange() => DataParallel?.Transport.Dispose();


    /// <exception cref="TrainingPreparationException">The message says what is wrong; the full error is in the run directory
    /// when one could be created.</exception>
    /// <exception cref="ExchangeFormationException">The gradient exchange could not be formed: the run should re-form, nothing is wrong with it.</exception>
    public static TrainingJob Prepare(StartTraining start, SlotAddress slot, WorkerSettings settings, IActorRef worker,
        RingListener? listener = null, CancellationToken cancel = default, IActorRef? coordinator = null, ActorSystem? system = null)
    {
        (Components.LoadedProject Project, BundleRef Bundle, Bundles.NodeBundles Cache)? bundle = null;
        RunDirectory? run = null;
        string? ownDirectory = null;
        var createdRunDirectory = false;
        IReadOnlyList<Extension> extensions = [];
        Trainer? trainer = null;
        var rank = start.Collective?.Rank ?? 0;
        try
        {
            var catalog = settings.Components.Catalog;
            var project = settings.Components.Project;
            if (start.Bundle is { } submitted)
            {
                // The user's training project, for this run alone: fetched once per node, loaded in a context of its own.
                var cache = settings.Bundles ?? throw new Bundles.BundleUnsupportedException(
                    $"run {start.RunId} uses {submitted}, but this node was started without a bundle cache; start it as a node of the cluster (trainmanager-node).");
                if (coordinator is null || system is null)
                    throw new Bundles.BundleUnsupportedException($"run {start.RunId} uses {submitted}, but this worker has no coordinator to fetch it from.");
                project = cache.AcquireAsync(submitted, coordinator, system, settings.BundleAskTimeout, cancel).GetAwaiter().GetResult();
                try
                {
                    bundle = (project.LoadForRun(), submitted, cache);
                    cache.Track(start.RunId, submitted.Hash, bundle.Value.Project);
                }
                catch
                {
                    cache.Release(submitted);
                    throw;
                }
                catalog = catalog.With(bundle.Value.Project.Assemblies);
            }
            // The slot decides the exact device: a cuda experiment placed on slot cuda:1 trains on cuda:1, and the
            // override is recorded in the run's experiment.hocon like any other.
            var experiment = ExperimentLoader.Parse(start.ExperimentHocon, $"run {start.RunId}", components: catalog);
            DataRoots.Require(experiment.Data.Path, settings.DataRoots);
            // The run directory keeps the submitted text as it was (with its "# Override:" lines), not a re-rendering.
            var recorded = start.ExperimentHocon;
            if (!string.Equals(experiment.Device, slot.Device, StringComparison.OrdinalIgnoreCase))
            {
                // What --set device=... would give, without parsing the text a second time.
                experiment = experiment with { Device = slot.Device, Overrides = [.. experiment.Overrides, new("device", slot.Device)] };
                recorded += $"\n# Placed on worker slot {slot}: it trains on that slot's device.\ndevice = \"{slot.Device}\"\n";
            }
            // Where the experiment file is, when this machine has it (the embedded run, a shared checkout): extensions such as
            // provenance look for the code beside it.
            var sourceFile = start.SourceFile is { } file && File.Exists(file) ? file : null;
            // The submitted text records the --set overrides in its header; a parse of it cannot see them as overrides, so
            // they are restored here for the run's instantiation.json (followed by the slot's device, when it added one).
            experiment = experiment with
            {
                ResolvedHocon = recorded,
                SourceFile = sourceFile,
                Overrides = [.. ExperimentHoconWriter.RecordedOverrides(start.ExperimentHocon), .. experiment.Overrides],
            };

            var root = Path.GetFullPath(settings.RunsDirectory);
            var existing = Path.Combine(root, start.RunId);
            if (rank == 0)
            {
                createdRunDirectory = !File.Exists(Path.Combine(existing, "experiment.hocon"));
                run = createdRunDirectory ? RunDirectory.Create(experiment, root, start.RunId) : RunDirectory.Open(existing);
                if (createdRunDirectory && project is not null)
                    project.CopyTo(run.CodeBuild);
                if (createdRunDirectory && start.Bundle is { } used)
                    used.Recorded().WriteTo(run.Path);
                ownDirectory = run.Path;
            }
            else
            {
                ownDirectory = Path.Combine(existing, $"rank-{rank}");
                Directory.CreateDirectory(ownDirectory);
            }

            // Every rank checks the checkpoints the same way and so picks the same one; only rank 0 moves a bad one aside.
            var resume = ResumePoint.Choose(start.ResumeCandidates, settings.CheckpointKey, keepAside: rank == 0);
            extensions = catalog.CreateExtensions(new Components.ExtensionContext(ownDirectory, experiment), settings.Components.ServicesForRun(start.RunId));
            trainer = Trainer.FromExperiment(experiment, catalog, run, extensions, rank: rank, worldSize: start.Collective?.WorldSize ?? 1,
                checkpointKey: settings.CheckpointKey, dataRoots: settings.DataRoots, expectedData: start.Data);
            var dataParallel = start.Collective is { } collective
                ? new DataParallelExtension(GradientTransports.Connect(collective, experiment, listener, settings, cancel))
                : null;
            if (dataParallel is not null)
                trainer.Register(dataParallel);
            var stop = new StopWhenAsked(dataParallel);
            trainer.Register(stop);
            if (rank == 0)
            {
                // The journal's facts (epochs, checkpoints) and the live progress come from rank 0 alone.
                var step = trainer;
                trainer.Register(new RunReporter(start.RunId, worker, () => step.Step));
                trainer.Register(new ProgressReporter(start.RunId, worker, settings.ProgressInterval));
            }
            return new TrainingJob(start.RunId, rank, existing, ownDirectory, trainer, resume, stop, dataParallel, extensions, createdRunDirectory)
            {
                _bundle = bundle,
            };
        }
        catch (ExchangeFormationException)
        {
            trainer?.Dispose();
            ReleaseBundle(bundle);
            throw;
        }
        catch (Exception e)
        {
            trainer?.Dispose();
            ReleaseBundle(bundle);
            var kind = FailureText.KindOf(e);
            if (kind == FailureKind.BadInput && createdRunDirectory && run is not null)
            {
                // Bad input leaves no run directory: the message says what to change, and nothing ran.
                DisposeAll(extensions);
                DeleteRunDirectory(run.Path);
                throw new TrainingPreparationException(FailureText.Describe(e), kind, null, e);
            }
            var errorFile = ownDirectory is null ? null : WriteError(ownDirectory, e);
            throw new TrainingPreparationException(FailureText.Describe(e), kind, errorFile, e);
        }
    }

    public FitResult Fit() => Trainer.Fit(Resume.Checkpoint?.Path);

    /// <summary>Writes the full error where this rank keeps its files: the run directory (rank 0) or its <c>rank-r/</c>.</summary>
    public string WriteError(Exception e) => WriteError(_ownDirectory, e);

    static string WriteError(string directory, Exception e)
    {
        // The run directory is the record of the run, failures included; the report carries the short message.
        var file = Path.Combine(directory, "error.txt");
        File.WriteAllText(file, e.ToString());
        return file;
    }

    /// <summary>For a run that failed on bad input before its first checkpoint (a checkpoint that does not fit the model,
    /// say): removes the run directory this job created, after closing what the job has open in it, since bad input leaves
    /// no run directory. A directory it did not create, or one with a checkpoint, stays.</summary>
    /// <returns>Whether it was removed (the job is then disposed).</returns>
    public bool DiscardNewRunDirectory()
    {
        if (!_createdRunDirectory || Trainer.Checkpoints?.Latest() is not null)
            return false;
        Dispose();
        DeleteRunDirectory(RunPath);
        return true;
    }

    static void DeleteRunDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the failure is still reported as it is; a stray directory is not worth a second error.
        }
    }

    static void DisposeAll(IEnumerable<Extension> extensions)
    {
        foreach (var disposable in extensions.OfType<IDisposable>())
            disposable.Dispose();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        DisposeAll(_extensions);
        DataParallel?.Dispose();
        Trainer.Dispose();
        ReleaseBundle(_bundle);
        _bundle = null;
    }

    static void ReleaseBundle((Components.LoadedProject Project, BundleRef Bundle, Bundles.NodeBundles Cache)? bundle)
    {
        if (bundle is not { } held)
            return;
        held.Project.Dispose();
        held.Cache.Release(held.Bundle);
    }
}

/// <summary>How a failure is told: the message chain without stack traces, and whose mistake it was.</summary>
public static class FailureText
{
    /// <summary>The sentence a failure report carries (<see cref="BadInput.Describe"/>, the CLI's too).</summary>
    public static string Describe(Exception e) => BadInput.Describe(e);

    /// <summary>Whether a fit (or its preparation) ended because its data-parallel gradient exchange broke or could not
    /// be formed: a lost peer, not a fault of the run. The transport says which of its failures are peer losses; no
    /// transport (preparation failed before one existed): only a failed formation is.</summary>
    public static bool IsPeerLoss(Exception e, IGradientTransport? transport)
    {
        for (var current = e; current is not null; current = current.InnerException)
            if (current is ExchangeFormationException || transport?.IsPeerFailure(current) == true)
                return true;
        return false;
    }

    /// <summary>The CLI's rule (<see cref="BadInput.Is"/>) as the kind a failure report carries.</summary>
    public static FailureKind KindOf(Exception e) => BadInput.Is(e) ? FailureKind.BadInput : FailureKind.RunFailed;
}
