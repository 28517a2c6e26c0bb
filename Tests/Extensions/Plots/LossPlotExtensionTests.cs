using TrainManager.Extensions.Plots;
using TrainManager.Testing;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Plots;

public sealed class LossPlotExtensionTests : ExtensionTestKit
{
    private const int BatchSize = 16;
    private const int BatchesPerEpoch = 8;
    private const int Samples = BatchSize * BatchesPerEpoch;

    /// <summary>Per-sample losses that fall with training, with noise, and that stay high for a few planted samples.</summary>
    private static float[] SyntheticLosses(long step, long[] indices, IReadOnlyDictionary<long, float> planted, Random noise) =>
        indices.Select(i => planted.TryGetValue(i, out var high)
            ? high
            : (float)(2.3 * Math.Exp(-step / 20.0) + 0.1 + 0.2 * noise.NextDouble())).ToArray();

    /// <summary>Drives fit > epoch > train > batch as the trainer does, with a shuffled order of samples per epoch.</summary>
    private static void DriveTraining(StageDriver driver, string? runDir, int epochs, IReadOnlyDictionary<long, float>? planted = null,
        Action<long>? afterBatch = null)
    {
        planted ??= new Dictionary<long, float>();
        var noise = new Random(1);
        long step = 0;
        using (driver.Enter("fit", ("run_dir", runDir)))
            for (var epoch = 0; epoch < epochs; epoch++)
                using (driver.Enter("epoch", ("epoch", epoch)))
                {
                    var order = Enumerable.Range(0, Samples).Select(i => (long)i).OrderBy(_ => noise.Next()).ToArray();
                    double sum = 0;
                    using (driver.Enter("train"))
                        for (var b = 0; b < BatchesPerEpoch; b++, step++)
                        {
                            using var scope = NewDisposeScope();
                            var indices = order[(b * BatchSize)..((b + 1) * BatchSize)];
                            var perSample = tensor(SyntheticLosses(step, indices, planted, noise));
                            sum += perSample.mean().item<float>();
                            driver.Run("batch", [("batch_index", b), ("step", step), ("sample_indices", indices)], f =>
                            {
                                f["per_sample_loss"] = perSample;
                                f["loss"] = perSample.mean();
                            });
                            afterBatch?.Invoke(step);
                        }
                    var train = sum / BatchesPerEpoch;
                    driver.Fixtures["metrics"] = new Dictionary<string, double>
                    {
                        ["train_loss"] = train, ["test_loss"] = train * 1.1, ["test_accuracy"] = 0.5 + 0.1 * epoch,
                    };
                }
    }

    [Fact]
    public void Three_epochs_of_losses_give_readable_batch_epoch_and_sample_pictures()
    {
        var run = TestDirectory.Create("loss-plot");
        var driver = Drive(TrainerStages.Tree, new LossPlotExtension());

        DriveTraining(driver, run, epochs: 3);

        PngHeader.AssertReadable(Path.Combine(run, "plots", "loss-batches.png"));
        PngHeader.AssertReadable(Path.Combine(run, "plots", "loss-epochs.png"));
        PngHeader.AssertReadable(Path.Combine(run, "plots", "loss-samples.png"), minHeight: 800);
    }

    [Fact]
    public void The_worst_samples_csv_lists_the_highest_loss_indices_highest_first()
    {
        var run = TestDirectory.Create("loss-plot");
        var planted = new Dictionary<long, float> { [17] = 9f, [42] = 7f, [5] = 5f, [99] = 4f };
        var driver = Drive(TrainerStages.Tree, new LossPlotExtension(new LossPlotOptions { Worst = 3 }));

        DriveTraining(driver, run, epochs: 2, planted);

        var lines = File.ReadAllLines(Path.Combine(run, "plots", "worst-samples.csv"));
        Assert.Equal(WorstSamplesCsv.Header, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(["17", "42", "5"], rows.Select(r => r[1]));
        Assert.Equal(["1", "2", "3"], rows.Select(r => r[0]));
        Assert.Equal("9", rows[0][2]);
        Assert.All(rows, r => Assert.Equal("1", r[3]));   // the last finished epoch's losses
    }

    [Fact]
    public void Pictures_are_refreshed_during_training_not_only_at_the_end()
    {
        var run = TestDirectory.Create("loss-plot");
        var batches = Path.Combine(run, "plots", "loss-batches.png");
        var driver = Drive(TrainerStages.Tree,
            new LossPlotExtension(new LossPlotOptions { RefreshEveryBatches = 4, MinRenderInterval = TimeSpan.Zero }));
        var seenDuringTraining = false;

        DriveTraining(driver, run, epochs: 1, afterBatch: step =>
        {
            if (step != 5) return;
            // The observer draws on its own actor; the routine is still inside the fit here.
            AwaitCondition(() => File.Exists(batches), TimeSpan.FromSeconds(20));
            seenDuringTraining = true;
        });

        Assert.True(seenDuringTraining);
    }

    [Theory]
    [InlineData(-1, 20)]
    [InlineData(200, -1)]
    public void Out_of_range_settings_are_refused_naming_the_setting(int refresh, int worst)
    {
        var e = Assert.Throws<ArgumentException>(() => new LossPlotExtension(new LossPlotOptions { RefreshEveryBatches = refresh, Worst = worst }));
        Assert.Contains(refresh < 0 ? "refresh-every-batches" : "worst", e.Message);
    }
}
