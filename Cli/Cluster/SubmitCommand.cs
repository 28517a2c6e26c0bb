using TrainManager.Coordinator.Experiments;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Extensions;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager submit EXPERIMENT.hocon --cluster HOST:PORT [--set k=v]... [--resume CHECKPOINT] [--follow]</c>.</summary>
[Description("Submit an experiment to a cluster; it runs on a free worker slot (or waits for one).")]
public sealed class SubmitCommand(IAnsiConsole console, TrainManager.Components.ComponentCatalog components) : ClusterCommand<SubmitCommand.Settings>(console)
{
    public sealed class Settings : ClusterCommandSettings
    {
        [CommandArgument(0, "<EXPERIMENT>")]
        [Description("The experiment file (HOCON), e.g. examples/fashion-mnist-mlp.hocon.")]
        public string Experiment { get; set; } = "";

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override an entry of the experiment, as for train (KEY:=VALUE replaces a block whole instead of merging into it). Repeatable; later ones win.")]
        public string[] Overrides { get; set; } = [];

        [CommandOption("--resume <CHECKPOINT>")]
        [Description("Start from this checkpoint (a file every node can read, or a run directory's newest).")]
        public string? Resume { get; set; }

        [CommandOption("--follow")]
        [Description("Stay and show the run's progress until it ends (Ctrl+C stops following, not the run).")]
        public bool Follow { get; set; }
    }

    protected override int RunOnCluster(Settings settings, CancellationToken cancellationToken)
    {
        // Checked here first, so a typo is reported with its file and line before anything reaches the cluster.
        var loaded = Submission.Load(settings.Experiment, settings.Overrides, components, Console, out var model);
        var experiment = loaded.Experiment;
        var resume = settings.Resume is null ? null : CheckpointLocator.ForResume(settings.Resume);
        var data = MeasureData(loaded);

        using var session = Connect(settings, cancellationToken);
        BundleRef? bundle = null;
        if (loaded.Project is { } project)
            bundle = Upload(session, project, cancellationToken);
        // After joining: the resume checkpoint is authenticated with the key of the secret this member proved.
        var submission = Submission.Create(experiment, model, resume, session.CheckpointKey, bundle, data);
        var accepted = Ask<SubmitAccepted>(session, submission, cancellationToken);
        Console.MarkupLineInterpolated($"Submitted run [bold]{accepted.RunId}[/] to {session.Target}.");
        if (accepted.MatchingSlots == 0)
            Console.MarkupLineInterpolated(
                $"[yellow]No node of the cluster offers a {experiment.Device} slot yet: the run waits until one joins (dotnet run --project Trainer.Node -- --devices {experiment.Device}).[/]");
        else if (experiment.Workers > accepted.MatchingSlots)
        {
            var then = accepted.MatchingSlots >= experiment.DataParallel.MinWorkers
                ? $"it starts with {accepted.MatchingSlots} after {experiment.DataParallel.ReplacementWait.TotalSeconds:0.#} s (data-parallel.replacement-wait) unless more join."
                : $"it waits until at least {experiment.DataParallel.MinWorkers} (data-parallel.min-workers) are there.";
            Console.MarkupLineInterpolated(
                $"[yellow]It asks for {experiment.Workers} workers and the cluster offers {accepted.MatchingSlots} {experiment.Device} slot(s): {then}[/]");
        }
        else if (accepted.QueuePosition > 0)
            Console.WriteLine($"{accepted.QueuePosition} run(s) wait before it for a {experiment.Device} slot.");
        if (!settings.Follow)
        {
            Console.Profile.Out.Writer.WriteLine($"Follow it with: trainmanager logs {accepted.RunId} --follow --cluster {session.Target}");
            return ExitCodes.Success;
        }
        return Follow(session, accepted.RunId, Console, cancellationToken);
    }

    /// <summary>The fingerprint of the experiment's data here, which every node's copy must match; null (with a warning)
    /// when the data is not on this machine.</summary>
    TrainManager.Data.DatasetFingerprint? MeasureData(LoadedExperiment loaded)
    {
        try
        {
            var data = TrainManager.Data.DatasetFingerprint.Measure(loaded.Experiment, loaded.Catalog);
            Console.MarkupLineInterpolated($"[grey]data: {data.Describe()}[/]");
            return data;
        }
        catch (TrainManager.Data.DatasetNotFoundException e)
        {
            Console.MarkupLineInterpolated(
                $"[yellow]warning: the experiment's data is not on this machine ({e.Message}); the nodes' copies cannot be checked against it. Submit from a machine that has the data to have them checked.[/]");
            return null;
        }
    }

    /// <summary>Packs the training project's build and hands it to the coordinator, unless it holds it already.</summary>
    BundleRef Upload(TrainManager.Cli.Client.ClusterSession session, TrainManager.Components.ProjectBuild project, CancellationToken cancellationToken)
    {
        var key = session.BundleKey ?? throw new CommandInputException("this client has no cluster secret to sign the training project's bundle with; pass --secret-file FILE.");
        var (bundle, reference) = Submission.Bundle(project, key);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long sent;
        try
        {
            sent = TrainManager.Cli.Client.BundleUpload.RunAsync(session.System, session.Coordinator, bundle, reference, session.RequestTimeout, cancellationToken)
                .GetAwaiter().GetResult();
        }
        catch (TrainManager.Cli.Client.BundleRefusedException refused)
        {
            throw new CommandInputException($"the cluster refused the training project: {refused.Message}");
        }
        var size = TrainManager.Runtime.ByteCount.Text(reference.Size);
        if (sent == 0)
            Console.MarkupLineInterpolated($"[grey]{reference} ({size}): the cluster already holds it[/]");
        else
            Console.MarkupLineInterpolated($"[grey]{reference} ({size}): uploaded in {started.Elapsed.TotalSeconds:0.0} s[/]");
        return reference;
    }

    /// <summary>Shows a run's progress until it ends; returns the exit code its end deserves.</summary>
    internal static int Follow(TrainManager.Cli.Client.ClusterSession session, string runId, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var follower = new ProgressFollower(console);
        RunEnded ended;
        try
        {
            ended = session.FollowAsync(runId, follower, cancellationToken).GetAwaiter().GetResult();
        }
        catch (TrainManager.Cli.Client.RunNotFoundException notFound)
        {
            throw new CommandInputException(notFound.Message);
        }
        catch (TaskCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            follower.Dispose();
            console.WriteLine($"Stopped following; the run goes on. Follow it again with: trainmanager logs {runId} --follow --cluster {session.Target}");
            return ExitCodes.Interrupted;
        }
        follower.Dispose();
        return RunEndings.Report(console, ended);
    }
}

/// <summary>How the end of a followed run is told, and the exit code it gives.</summary>
public static class RunEndings
{
    public static int Report(IAnsiConsole console, RunEnded ended)
    {
        switch (ended.Status)
        {
            case RunStatus.Finished:
                if (ended.Outcome is { } outcome)
                    console.Profile.Out.Writer.WriteLine(
                        $"Run {ended.RunId} finished: {outcome.Epochs} epochs{(HeadlineMetric.Of(outcome.FinalMetrics) is { } headline ? ", " + HeadlineMetric.Text(headline.Key, headline.Value) : "")}, in {ended.RunDirectory}.");
                return ExitCodes.Success;
            case RunStatus.Cancelled:
                console.WriteLine($"Run {ended.RunId} was cancelled: {ended.Reason}.");
                return ExitCodes.RunFailed;
            default:
                console.Write(new Text(ended.FailureKind == FailureKind.BadInput
                    ? $"Run {ended.RunId} could not run: {ended.Reason}"
                    : $"The run failed: {ended.Reason}", new Style(Color.Red)));
                console.WriteLine();
                if (ended.ErrorFile is { } file)
                    console.WriteLine($"The full error is in {file}.");
                return ended.FailureKind == FailureKind.BadInput ? ExitCodes.BadInput : ExitCodes.RunFailed;
        }
    }
}
