using TorchSharp;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Progress;
using TrainManager.Tests.Cli;
using TrainManager.Training;
using TrainManager.Components;

namespace TrainManager.Tests.Extensions.Progress;

public sealed class ProgressExtensionTests
{
    static readonly Dictionary<string, double> Metrics = new()
    {
        ["train_loss"] = 0.5, ["test_loss"] = 0.4, ["test_accuracy"] = 0.8125, ["lr"] = 0.001, ["samples_per_second"] = 12345.6,
        ["epoch_seconds"] = 2.25,
    };

    [Fact]
    public void In_lines_mode_each_epoch_prints_one_line_with_its_metrics()
    {
        var console = new RecordingConsole();
        var progress = new ProgressExtension(console.Console, mode: ProgressMode.Lines);

        progress.PreFit(epochs: 2, batchesPerEpoch: 3);
        for (var epoch = 1; epoch <= 2; epoch++) // epochs are numbered from 1
        {
            progress.PreEpoch(epoch);
            progress.PostEpoch(epoch, Metrics);
        }
        progress.PostFit();

        Assert.Equal(
            [
                "epoch 1/2  train loss 0.5000  test loss 0.4000  test accuracy 81.25%  lr 0.001  12,346 samples/s  2.3 s",
                "epoch 2/2  train loss 0.5000  test loss 0.4000  test accuracy 81.25%  lr 0.001  12,346 samples/s  2.3 s",
            ],
            console.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void In_lines_mode_batches_never_read_the_loss()
    {
        var progress = new ProgressExtension(new RecordingConsole().Console, mode: ProgressMode.Lines);
        var disposed = torch.tensor(1.0f);
        disposed.Dispose(); // reading it would throw

        progress.PreFit(1, 100);
        progress.PreEpoch(1);
        for (var batch = 0; batch < 100; batch++)
            progress.PostBatch(batch, 32, disposed);
        progress.PostFit();
    }

    [Fact]
    public void The_live_bar_reads_the_loss_at_most_once_per_refresh_interval_and_stops_cleanly()
    {
        var console = new RecordingConsole(interactive: true);
        var progress = new ProgressExtension(console.Console, TimeSpan.FromHours(1), ProgressMode.Live);
        using var loss = torch.tensor(0.25f);
        var disposed = torch.tensor(1.0f);
        disposed.Dispose();

        progress.PreFit(1, 50);
        progress.PreEpoch(1);
        progress.PostBatch(0, 32, loss); // the first batch of an epoch refreshes
        for (var batch = 1; batch < 50; batch++)
            progress.PostBatch(batch, 32, disposed); // within the hour: not read
        progress.PostEpoch(1, Metrics);
        progress.PostFit();

        Assert.True(progress.IsLive);
        Assert.Contains("epoch 1/1  train loss 0.5000", console.Output);
        Assert.Contains("loss 0.2500", console.Output);
    }

    [Fact]
    public void A_batch_that_defined_no_loss_is_passed_over()
    {
        var console = new RecordingConsole(interactive: true);
        var progress = new ProgressExtension(console.Console, mode: ProgressMode.Live);

        progress.PreFit(1, 2);
        progress.PreEpoch(1);
        progress.PostBatch(0, 32); // its inner stages were skipped: no loss fixture
        progress.PostFit();

        Assert.DoesNotContain("loss", console.Output);
    }

    [Theory]
    [InlineData("lines", false)]
    [InlineData("live", true)]
    public void The_mode_setting_chooses_the_display(string mode, bool live)
    {
        var section = new ExtensionSection("progress", new Dictionary<string, object?> { ["mode"] = mode, ["refresh-ms"] = 250L });

        var progress = Assert.IsType<ProgressExtension>(TestComponents.Catalog.CreateExtension(section,
            new ExtensionContext(null, TrainManager.Tests.Training.TrainingFixtures.Mlp(Path.GetTempPath())),
            ComponentServices.Empty.With(new RecordingConsole().Console)));

        Assert.Equal(live, progress.IsLive);
        Assert.Equal(TimeSpan.FromMilliseconds(250), progress.RefreshInterval);
    }

    [Fact]
    public void Auto_mode_prints_lines_when_the_console_is_not_interactive() =>
        Assert.False(new ProgressExtension(new RecordingConsole().Console).IsLive);

    [Fact]
    public void Its_hooks_fit_the_trainer_stages_and_report_a_real_run()
    {
        var experiment = ExperimentLoader.Load(Path.Combine(AppContext.BaseDirectory, "TestData", "experiments", "mlp-slice.hocon"),
            ["epochs=2", "data.train-limit=256", "data.test-limit=128"]);
        var console = new RecordingConsole();
        var progress = new ProgressExtension(console.Console, mode: ProgressMode.Lines);

        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, [progress]))
            trainer.Fit();

        Assert.Contains("epoch 1/2  train loss ", console.Output);
        Assert.Contains("epoch 2/2  train loss ", console.Output);
    }
}
