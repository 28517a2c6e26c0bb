using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Training;

namespace TrainManager.Coordinator.Cli;

/// <summary><c>trainmanager train EXPERIMENT.hocon [--set k=v]... [--runs-dir DIR] [--resume CHECKPOINT]</c>.</summary>
[Description("Train the model an experiment file describes, in a new run directory.")]
public sealed class TrainCommand(IAnsiConsole console) : TrainManagerCommand<TrainCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<EXPERIMENT>")]
        [Description("The experiment file (HOCON), e.g. examples/fashion-mnist-cnn.hocon.")]
        public string Experiment { get; set; } = "";

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override an entry of the experiment: --set epochs=3, --set optimizer.lr=0.01, --set model.args.hidden=[[64]]. Repeatable; later ones win.")]
        public string[] Overrides { get; set; } = [];

        [CommandOption("--runs-dir <DIR>")]
        [Description("Create the run directory under DIR instead of the experiment's runs-dir (default runs/).")]
        public string? RunsDirectory { get; set; }

        [CommandOption("--resume <CHECKPOINT>")]
        [Description("Continue from a checkpoint file, or from the newest checkpoint of a run directory.")]
        public string? Resume { get; set; }
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var catalog = ExtensionCatalog.WithBuiltIns(Console);
        var overrides = settings.Overrides.ToList();
        if (settings.RunsDirectory is { } runsDirectory)
            overrides.Add($"runs-dir={runsDirectory}"); // an override, so the run records where it was put
        var experiment = ExperimentLoader.Load(settings.Experiment, overrides, catalog.Names);
        // Checked before the run directory exists, so a typo in the model arguments leaves nothing behind.
        ModelRegistry.WithBuiltIns().Resolve(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
        var resumeFrom = settings.Resume is null ? null : CheckpointLocator.ForResume(settings.Resume);

        var run = RunDirectory.Create(experiment);
        Console.MarkupLineInterpolated($"Run [bold]{run.Id}[/] in {run.Path}");
        IReadOnlyList<Extension> extensions = [];
        try
        {
            extensions = catalog.CreateAll(new ExtensionContext(run.Path, experiment));
            using var trainer = Trainer.FromExperiment(experiment, run, extensions);
            trainer.Register(new StopOnInterrupt(cancellationToken)); // not part of the experiment, so not in its record
            var result = trainer.Fit(resumeFrom);
            Console.Write(Summary(experiment, run, result));
            if (result.StopReason is { } reason)
                // The run's own experiment.hocon carries every override, so resuming from it continues the same run.
                Console.WriteLine(cancellationToken.IsCancellationRequested && result.LastCheckpoint is { } checkpoint
                    ? $"Stopped early: {reason}. Continue with: trainmanager train {run.ExperimentFile} --resume {checkpoint}"
                    : $"Stopped early: {reason}.");
            return cancellationToken.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Success;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The run directory is the record of the run, failures included; the console gets the short message.
            var errorFile = Path.Combine(run.Path, "error.txt");
            File.WriteAllText(errorFile, e.ToString());
            throw new RunFailedException(errorFile, e);
        }
        finally
        {
            foreach (var disposable in extensions.OfType<IDisposable>())
                disposable.Dispose();
        }
    }

    static Table Summary(Experiment experiment, RunDirectory run, FitResult result)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Run summary").HideHeaders().AddColumn("").AddColumn("");
        void Row(string name, string value) => table.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Row("run id", run.Id);
        Row("epochs", $"{result.Epochs}/{experiment.Epochs}");
        Row("train loss", Format(result.TrainLoss, "0.0000"));
        Row("test loss", Format(result.TestLoss, "0.0000"));
        Row("test accuracy", double.IsNaN(result.TestAccuracy) ? "-" : Format(result.TestAccuracy * 100, "0.00") + "%");
        Row("time", Duration(result.Elapsed));
        Row("run directory", run.Path);
        if (result.LastCheckpoint is { } checkpoint)
            Row("checkpoint", checkpoint);
        return table;
    }

    internal static string Format(double value, string format) =>
        double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    internal static string Duration(TimeSpan elapsed) => elapsed.TotalHours >= 1
        ? elapsed.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : elapsed.ToString(@"m\:ss\.f", CultureInfo.InvariantCulture);
}
