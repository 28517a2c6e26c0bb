using Akka.Actor;
using Spectre.Console;
using TrainManager.Checkpoints;
using TrainManager.Components;
using TrainManager.Node.Workers;
using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Models;
using TrainManager.Training;

namespace TrainManager.Cli.Cluster;

/// <summary>
/// <c>trainmanager train</c>'s embedded default: a single-node cluster in this process (coordinator and one worker slot
/// on the experiment's device, journal in SQLite under <c>.trainmanager/</c>) runs the experiment through the same
/// submit, schedule and worker path as a real cluster. Progress is the experiment's own progress extension, writing to
/// this terminal, since the worker runs here.
/// </summary>
public static class EmbeddedTrain
{
    /// <summary>Runs <paramref name="experiment"/> to its end; Ctrl+C cancels it (it stops after its batch, checkpointed).</summary>
    /// <returns>The run directory (null when it was cancelled before it started) and how the run ended.</returns>
    public static (RunDirectory? Run, RunEnded Ended) Run(IAnsiConsole console, LoadedExperiment loaded, ModelSpec model,
        string? resumeFrom, string? stateDirectory, CheckpointKey checkpointKey, CancellationToken cancellationToken)
    {
        var experiment = loaded.Experiment;
        var runsRoot = Path.GetFullPath(experiment.RunsDirectory);
        var submission = Submission.Create(experiment, model, resumeFrom, checkpointKey);
        // The embedded node's runs directory is the experiment's: this process is both the user and the node.
        using var cluster = EmbeddedCluster.Start(experiment.Device, new NodeComponents(loaded.Catalog, _ => ComponentServices.Empty.With(console), loaded.Project), runsRoot, stateDirectory, experiment.Workers,
            checkpointKey.AcceptUnsigned);
        var session = cluster.Session;
        var accepted = session.AskAsync(submission).GetAwaiter().GetResult() switch
        {
            SubmitAccepted a => a,
            SubmitRejected rejected => throw new ExperimentException(rejected.Reason, experiment.SourceFile),
            var other => throw new InvalidOperationException($"The embedded coordinator answered {other.GetType().Name} to a submission."),
        };
        var path = Path.Combine(runsRoot, accepted.RunId);
        console.MarkupLineInterpolated($"Run [bold]{accepted.RunId}[/] in {path}");

        using var interrupt = cancellationToken.Register(() =>
            session.Coordinator.Tell(new CancelRun(accepted.RunId, StopOnInterrupt.Reason)));
        // No observer: the run's own progress extension already draws on this console.
        var ended = session.FollowAsync(accepted.RunId, new SilentObserver()).GetAwaiter().GetResult();
        var run = File.Exists(Path.Combine(path, "experiment.hocon")) ? RunDirectory.Open(path) : null;
        return (run, ended);
    }

    /// <summary>The failure a failed run is reported as, under the CLI's error policy (bad input: exit 2, else 1).</summary>
    public static Exception Failure(RunEnded ended)
    {
        Exception cause = ended.FailureKind == FailureKind.BadInput
            ? new CommandInputException(ended.Reason ?? "the run could not start")
            : new EmbeddedRunFailedException(ended.Reason ?? "unknown error");
        return ended.ErrorFile is { } file ? new RunFailedException(file, cause) : cause;
    }

    public static FitResult ToFitResult(TrainingOutcome outcome) => new(outcome.Epochs, outcome.FinalMetrics, outcome.Elapsed, [],
        outcome.LastCheckpoint, outcome.StopReason);

    sealed class SilentObserver : IRunObserver;
}

/// <summary>A run of the embedded cluster failed; the message is the worker's, the stack trace is in the run's error.txt.</summary>
public sealed class EmbeddedRunFailedException(string message) : Exception(message);
