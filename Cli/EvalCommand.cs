using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Coordinator.Experiments;
using TrainManager.Experiments;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary><c>trainmanager eval RUN-DIR-OR-CHECKPOINT [--set k=v]...</c>.</summary>
[Description("Evaluate a trained model on the test split: a run directory's best checkpoint (its newest when it recorded no best), or a given checkpoint.")]
public sealed class EvalCommand(IAnsiConsole console, ComponentCatalog components) : TrainManagerCommand<EvalCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<RUN-DIR-OR-CHECKPOINT>")]
        [Description("A run directory (runs/<run-id>) or a checkpoint file in its checkpoints/ folder.")]
        public string Target { get; set; } = "";

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override an entry of the run's experiment, e.g. --set device=cuda or --set data.test-limit=1000; KEY:=VALUE replaces a block whole instead of merging into it. Repeatable.")]
        public string[] Overrides { get; set; } = [];

        [CommandOption("--accept-unsigned-checkpoints")]
        [Description("Load a checkpoint that carries no MAC (written by a version before checkpoints were signed). Off: such a checkpoint is refused, since nothing shows who wrote it.")]
        public bool AcceptUnsignedCheckpoints { get; set; }
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var (run, checkpoint, why) = CheckpointLocator.ForEvaluation(settings.Target);
        // The run's own build of its training project, so the model is the code it trained with.
        var loaded = ExperimentComponents.Load(run.ExperimentFile, settings.Overrides, components, Console, recordedBuild: run.CodeBuild);
        var experiment = loaded.Experiment;
        ReportOverrides(run, experiment, loaded.Catalog);
        // No run directory and no extensions: evaluating reads a run, it does not add to it.
        // The checkpoint must verify under the user's key (the one local runs sign with; TRAINMANAGER_SECRET_FILE names another).
        var checkpointKey = TrainManager.Protocol.Security.ClusterSecret.ForThisUser().CheckpointKey(settings.AcceptUnsignedCheckpoints);
        using var trainer = Trainer.FromExperiment(experiment, loaded.Catalog, run: null, extensions: [], checkpointKey: checkpointKey);
        int epoch;
        try
        {
            epoch = trainer.Restore(checkpoint).Metadata.Epoch + 1; // metadata counts from 0, people from 1
        }
        catch (InvalidOperationException e)
        {
            // The checkpoint does not fit the model the (overridden) experiment builds: an input mistake.
            throw new CommandInputException(e.Message, e);
        }
        var watch = Stopwatch.StartNew();
        var result = trainer.Evaluate();

        var table = new Table().Border(TableBorder.Rounded).Title("Evaluation").HideHeaders().AddColumn("").AddColumn("");
        void Row(string name, string value) => table.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Row("run id", run.Id);
        Row("checkpoint", $"{checkpoint}: {why}");
        Row("after epoch", epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Row("test loss", TrainCommand.Format(result.Loss, "0.0000"));
        foreach (var (name, value) in result.Metrics)
            Row(HeadlineMetric.Label($"test_{name}"), HeadlineMetric.Value($"test_{name}", value));
        Row("samples", result.Samples.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("time", TrainCommand.Duration(watch.Elapsed));
        Console.Write(table);
        return ExitCodes.Success;
    }

    /// <summary>Says which overrides change the recorded model: free ones apply as they are; ones that shape the
    /// weights mean the checkpoint cannot load, which the user should hear before the load fails.</summary>
    private void ReportOverrides(RunDirectory run, Experiment overridden, ComponentCatalog catalog)
    {
        if (overridden.Overrides.Count == 0) return;
        var recorded = ExperimentLoader.Load(run.ExperimentFile);
        Console.MarkupLineInterpolated($"[grey]overrides on top of the recorded instantiation parameters: {string.Join(", ", overridden.Overrides.Select(o => $"{o.Key}={o.Value}"))}[/]");
        var impacts = Models.OverrideImpact.Assess(catalog.Models,
            new Models.ModelSpec(recorded.Model.Type, recorded.Model.Arguments),
            new Models.ModelSpec(overridden.Model.Type, overridden.Model.Arguments));
        foreach (var impact in impacts)
            if (impact.ShapesWeights) Console.MarkupLineInterpolated($"[yellow]warning: {impact}[/]");
            else Console.MarkupLineInterpolated($"[grey]{impact}[/]");
    }
}
