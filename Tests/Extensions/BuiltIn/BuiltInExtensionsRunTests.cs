using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Leakage;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Tests.Extensions.TensorBoard;
using TrainManager.Tests.Training;
using TrainManager.Training;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Tests.Extensions.BuiltIn;

/// <summary>The built-in extensions, named in an experiment as a user would, on a real (small) training run.</summary>
public sealed class BuiltInExtensionsRunTests
{
    private static IReadOnlyList<Extension> FromCatalog(Experiment experiment, RunDirectory run) =>
        TestComponents.Catalog.CreateExtensions(new ExtensionContext(run.Path, experiment),
            ComponentServices.Empty.With(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) })));

    private static ExtensionSection Named(string type) => new(type, new Dictionary<string, object?>());

    [Fact]
    public void A_run_with_every_built_in_extension_leaves_pictures_events_report_and_provenance()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 512) with
        {
            Extensions = new[] { "loss-plot", "gradient-plot", "tensorboard", "provenance", "leakage-check", "report" }.Select(Named).ToList(),
        };
        var run = RunDirectory.Create(experiment);
        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, FromCatalog(experiment, run)))
            trainer.Fit();

        Assert.NotEmpty(Directory.GetFiles(run.PlotsDirectory, "*.png"));
        Assert.True(File.Exists(Path.Combine(run.Path, "report.html")));
        Assert.True(File.Exists(Path.Combine(run.Path, "provenance", "provenance.json")));
        Assert.Contains("\"torchsharp\"", File.ReadAllText(Path.Combine(run.Path, "environment.json")));
        Assert.StartsWith("No batch leakage found", File.ReadAllText(Path.Combine(run.Path, "leakage.txt")));

        var eventFile = Assert.Single(Directory.GetFiles(Path.Combine(run.Path, "tb"), "events.out.tfevents.*"));
        var events = EventFileReader.ReadAll(eventFile);
        Assert.Contains(events, e => e.Values.Any(v => v.Tag == "train/loss" && v.SimpleValue is > 0));
        Assert.Contains(events, e => e.Values.Any(v => v.Tag == "epoch/test_accuracy"));
        Assert.Contains(events, e => e.Values.Any(v => v.Tag.StartsWith("gradients/", StringComparison.Ordinal) && v.Histogram is { Num: > 0 }));
    }

    private sealed class StopMidEpoch : Extension
    {
        public void PostBatch(int epoch, int batchIndex, StageControl control) { if (epoch == 1 && batchIndex == 2) control.StopRoutine("interrupted"); }
    }

    [Fact]
    public void A_stop_in_the_middle_of_an_epoch_leaves_every_built_in_extension_working()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 3, trainLimit: 512) with
        {
            Extensions = new[] { "progress", "loss-plot", "gradient-plot", "tensorboard", "report" }.Select(Named).ToList(),
        };
        var run = RunDirectory.Create(experiment);
        FitResult result;
        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, [.. FromCatalog(experiment, run), new StopMidEpoch()]))
            result = trainer.Fit();
        Assert.Equal("interrupted", result.StopReason);
        Assert.Contains("batch-000003", result.LastCheckpoint);
        Assert.True(File.Exists(Path.Combine(run.Path, "report.html")));
    }

    /// <summary>Pairs of samples are folded into one row, mixed by a linear layer, and unfolded: a classic view bug.</summary>
    [Component("folded-pairs")]
    private sealed class FoldedPairs : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear mix = nn.Linear(2 * 784, 2 * 10);
        public FoldedPairs() : base("folded-pairs") => RegisterComponents();
        public override Tensor forward(Tensor x) => mix.call(x.reshape(-1, 2 * 784)).view(-1, 10);
    }

    [Fact]
    public void The_leakage_check_stops_a_run_whose_model_mixes_the_batch_before_any_step()
    {
        var catalog = TestComponents.Catalog.WithTypes(typeof(FoldedPairs));
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 256) with
        {
            Model = new ModelSection("folded-pairs", new Dictionary<string, object?>()),
            Extensions = [Named("leakage-check")],
        };
        var run = RunDirectory.Create(experiment);
        using var trainer = Trainer.FromExperiment(experiment, catalog, run, FromCatalog(experiment, run));
        var e = Assert.Throws<HookFailedException>(() => trainer.Fit());
        Assert.IsType<BatchLeakageException>(e.InnerException);
        Assert.Equal(0, trainer.Step);
        Assert.StartsWith("Batch leakage FOUND", File.ReadAllText(Path.Combine(run.Path, "leakage.txt")));
    }
}
