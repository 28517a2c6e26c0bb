using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Coordinator.Experiments;
using TrainManager.Cli.Cluster;
using TrainManager.Protocol;
using TrainManager.Protocol.Security;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary><c>trainmanager train EXPERIMENT.hocon [--set k=v]... [--runs-dir DIR] [--state-dir DIR] [--resume CHECKPOINT]</c>.</summary>
[Description("Train the model an experiment file describes, in a new run directory.")]
public sealed class TrainCommand(IAnsiConsole console, ComponentCatalog components) : TrainManagerCommand<TrainCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<EXPERIMENT>")]
        [Description("The experiment file (HOCON), e.g. examples/fashion-mnist-cnn.hocon.")]
        public string Experiment { get; set; } = "";

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override an entry of the experiment: --set epochs=3, --set optimizer.lr=0.01, --set model.args.hidden=[[64]]. A block merges into the block that is there (HOCON); KEY:=VALUE replaces it whole: --set model.args:={hidden=[[64]]}. Repeatable; later ones win.")]
        public string[] Overrides { get; set; } = [];

        [CommandOption("--runs-dir <DIR>")]
        [Description("Create the run directory under DIR instead of the experiment's runs-dir (default runs/).")]
        public string? RunsDirectory { get; set; }

        [CommandOption("--state-dir <DIR>")]
        [Description("Keep the journal (journal.db) in DIR instead of .trainmanager/ (or TRAINMANAGER_STATE_DIRECTORY).")]
        public string? StateDirectory { get; set; }

        [CommandOption("--resume <CHECKPOINT>")]
        [Description("Continue from a checkpoint file, or from the newest checkpoint of a run directory.")]
        public string? Resume { get; set; }

        [CommandOption("--accept-unsigned-checkpoints")]
        [Description("Load a checkpoint that carries no MAC (written by a version before checkpoints were signed). Off: such a checkpoint is refused, since nothing shows who wrote it.")]
        public bool AcceptUnsignedCheckpoints { get; set; }
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var overrides = settings.Overrides.ToList();
        if (settings.RunsDirectory is { } runsDirectory)
            overrides.Add($"runs-dir={runsDirectory}"); // an override, so the run records where it was put
        var loaded = ExperimentComponents.Load(settings.Experiment, overrides, components, Console);
        var experiment = loaded.Experiment;
        // Checked before the run directory exists, so a typo in the model arguments leaves nothing behind.
        var model = loaded.ResolveModel();
        var resumeFrom = settings.Resume is null ? null : CheckpointLocator.ForResume(settings.Resume);
        // The user's key: checkpoints this run writes verify in the next train --resume or eval on this machine.
        var checkpointKey = ClusterSecret.ForThisUser().CheckpointKey(settings.AcceptUnsignedCheckpoints);
        if (resumeFrom is not null)
            // Before the run directory exists: a resume with nothing left to train (or from a checkpoint that does not
            // verify) leaves nothing behind.
            Trainer.RequireEpochsLeft(resumeFrom,
                new Checkpoints.CheckpointStore(Path.GetDirectoryName(Path.GetFullPath(resumeFrom))!, checkpointKey).ReadInfo(resumeFrom).Metadata,
                experiment.Epochs);

        // The embedded default: an in-process single-node cluster (coordinator and one worker slot, journal in
        // .trainmanager/) runs the experiment, so a local run is journaled and run by the same code as a cluster run.
        var (run, ended) = EmbeddedTrain.Run(Console, loaded, model, resumeFrom, settings.StateDirectory, checkpointKey,
            cancellationToken);
        if (ended.Status == RunStatus.Failed)
            throw EmbeddedTrain.Failure(ended);
        var interrupted = cancellationToken.IsCancellationRequested || ended.Status == RunStatus.Cancelled;
        if (run is not null && ended.Outcome is { } outcome)
            Console.Write(Summary(experiment, run, EmbeddedTrain.ToFitResult(outcome)));
        var stopReason = interrupted ? StopOnInterrupt.Reason : ended.Outcome?.StopReason;
        if (stopReason is { } reason)
            // The run's own experiment.hocon carries every override, so resuming from it continues the same run. Written
            // past Spectre's wrapping, so the command stays one line that can be copied whole from any terminal width.
            Console.Profile.Out.Writer.WriteLine(interrupted && run is not null && ended.Outcome?.LastCheckpoint is { } checkpoint
                ? $"Stopped early: {reason}. Continue with: {ResumeCommand(run.ExperimentFile, checkpoint)}"
                : $"Stopped early: {reason}.");
        return interrupted ? ExitCodes.Interrupted : ExitCodes.Success;
    }

    /// <summary>The command that continues a run from <paramref name="checkpoint"/>, quoted for a POSIX shell where a path needs it.</summary>
    internal static string ResumeCommand(string experimentFile, string checkpoint) =>
        $"trainmanager train {ShellWord(experimentFile)} --resume {ShellWord(checkpoint)}";

    static string ShellWord(string word) => word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+:=,@%".Contains(c))
        ? word
        : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    static Table Summary(Experiment experiment, RunDirectory run, FitResult result)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Run summary").HideHeaders().AddColumn("").AddColumn("");
        void Row(string name, string value) => table.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Row("run id", run.Id);
        Row("epochs", $"{result.Epochs}/{experiment.Epochs}");
        // What the task reports, on the validation split and, at the end of a fit with one, the test split.
        foreach (var (key, value) in result.Metrics)
            Row(HeadlineMetric.Label(key), HeadlineMetric.Value(key, value));
        Row("time", Duration(result.Elapsed));
        Row("run directory", run.Path);
        if (result.LastCheckpoint is { } checkpoint)
            Row("checkpoint", checkpoint);
        // The run directory says which checkpoint is best (a cluster run's outcome does not carry it).
        if (TrainManager.Checkpoints.BestCheckpoint.Read(System.IO.Path.Combine(run.Path, "checkpoints")) is { } best)
            Row("best", $"{best.PathIn(System.IO.Path.Combine(run.Path, "checkpoints"))} ({best.Mode} {best.Metric}, epoch {best.Epoch})");
        return table;
    }

    internal static string Format(double value, string format) =>
        double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    internal static string Duration(TimeSpan elapsed) => elapsed.TotalHours >= 1
        ? elapsed.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : elapsed.ToString(@"m\:ss\.f", CultureInfo.InvariantCulture);
}
