using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Extensions.Leakage;
using TrainManager.Models;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary><c>trainmanager check-leakage EXPERIMENT.hocon [--set k=v]...</c>: proves, for the experiment's model and a
/// real training batch, that no sample's output or gradient depends on another sample. Exits non-zero on a leak.</summary>
[Description("Check the experiment's model for batch leakage on a real training batch (forward and backward).")]
public sealed class CheckLeakageCommand(IAnsiConsole console, ComponentCatalog components) : TrainManagerCommand<CheckLeakageCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<EXPERIMENT>")]
        [Description("The experiment file (HOCON) whose model and data to check.")]
        public string Experiment { get; set; } = "";

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override an entry of the experiment, as for train (KEY:=VALUE replaces a block whole). Repeatable.")]
        public string[] Overrides { get; set; } = [];

        [CommandOption("--probes <N>")]
        [Description("How many samples of the batch to perturb (default 4).")]
        public int Probes { get; set; } = 4;
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var loaded = ExperimentComponents.Load(settings.Experiment, settings.Overrides, components, Console);
        var experiment = loaded.Experiment;
        TrainManager.Runtime.CpuRandomState.Seed(experiment.Seed);
        using var model = loaded.Catalog.Models.Create(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
        using var data = DataSources.Open(experiment, loaded.Catalog);
        var train = data.Train;
        var sampler = new EpochSampler(train.Count, experiment.BatchSize, experiment.Seed);
        using var batch = train.GetBatch(sampler.Batches(0).First());
        model.Module.train();
        var report = BatchLeakageChecker.Check(model.Module, batch.Input, new LeakageCheckOptions { ProbeCount = settings.Probes });
        Console.Write(new Text(report.ToString(), new Style(report.HasLeak ? Color.Red : Color.Green)));
        Console.WriteLine();
        return report.HasLeak ? ExitCodes.LeakFound : ExitCodes.Success;
    }
}
