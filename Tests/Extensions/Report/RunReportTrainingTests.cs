using TrainManager.Extensions.Plots;
using TrainManager.Extensions.Report;
using TrainManager.Tests.Extensions.Plots;
using TrainManager.Stages;
using TrainManager.Tests.Training;
using TrainManager.Training;

namespace TrainManager.Tests.Extensions.Report;

/// <summary>The plot and report extensions on a real training run: the run directory a person opens afterwards.</summary>
public sealed class RunReportTrainingTests
{
    [Fact]
    public void A_trained_run_has_loss_and_gradient_pictures_and_a_report_that_shows_them()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 512);
        var run = RunDirectory.Create(experiment);
        var flags = new List<string>();
        Extension[] extensions =
        [
            new RunReportExtension(experiment.Name),
            new LossPlotExtension(new LossPlotOptions { RefreshEveryBatches = 4, Worst = 10 }),
            new GradientPlotExtension(new GradientPlotOptions { Every = 2 }, flags.Add),
        ];
        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, extensions))
            trainer.Fit();

        var plots = Path.Combine(run.Path, "plots");
        foreach (var picture in new[] { "loss-batches", "loss-epochs", "loss-samples", "gradients-norms", "gradients-histogram-step-0", "gradients-histogram-step-15" })
            PngHeader.AssertReadable(Path.Combine(plots, picture + ".png"));
        Assert.Equal(11, File.ReadAllLines(Path.Combine(plots, "worst-samples.csv")).Length);
        Assert.Empty(flags);

        var html = File.ReadAllText(Path.Combine(run.Path, "report.html"));
        Assert.Contains("<h1>mlp-slice</h1>", html);
        Assert.Contains("Completed: 2 of 2 epochs.", html);
        Assert.Contains("<img src=\"plots/gradients-histogram-step-15.png\"", html);
        Assert.Contains("<img src=\"plots/loss-samples.png\"", html);
        Assert.Contains("href=\"metrics/epochs.jsonl\"", html);
    }
}
