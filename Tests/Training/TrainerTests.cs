using TorchSharp;
using TrainManager.Checkpoints;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Training;

/// <summary>Runs alone: loss sequences are compared exactly, and other tests draw from torch's global generator.</summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class TrainerTests
{
    /// <summary>Records every batch loss, to compare loss sequences between runs.</summary>
    private sealed class LossRecorder : Extension
    {
        public readonly List<(int Epoch, int Batch, float Loss)> Losses = new();
        private int _epoch;
        public void PreEpoch(int epoch) => _epoch = epoch;
        public void PostBatch(int batchIndex, Tensor loss) => Losses.Add((_epoch, batchIndex, loss.item<float>()));
    }

    private sealed class StopAfterEpoch(int last) : Extension
    {
        public void PostEpoch(int epoch, StageControl control) { if (epoch == last) control.StopRoutine($"stopped after epoch {last}"); }
    }

    private static (FitResult Result, LossRecorder Losses, RunDirectory Run) Train(Experiment experiment, string? resume = null, params Extension[] more)
    {
        var recorder = new LossRecorder();
        var run = RunDirectory.Create(experiment);
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, [recorder, .. more]);
        return (trainer.Fit(resume), recorder, run);
    }

    [Fact]
    public void Fit_learns_on_the_slice_and_writes_the_run_directory()
    {
        var (result, losses, run) = Train(TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 3, trainLimit: 1000));
        Assert.Equal(3, result.Epochs);
        Assert.True(result.Metric("test_accuracy") > 0.55, $"test accuracy {result.Metric("test_accuracy"):P1} is barely above chance");
        Assert.True(losses.Losses[^1].Loss < losses.Losses[0].Loss);
        Assert.True(File.Exists(run.ExperimentFile));
        Assert.Contains("\"Type\": \"mlp\"", File.ReadAllText(run.InstantiationFile));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run.MetricsDirectory, "epochs.jsonl")).Length);
        Assert.Equal(losses.Losses.Count, File.ReadAllLines(Path.Combine(run.MetricsDirectory, "batches.jsonl")).Length);
        Assert.Equal(3, new CheckpointStore(run.CheckpointDirectory).List().Count);
    }

    [Fact]
    public void The_same_seed_gives_the_same_loss_sequence()
    {
        var runs = TrainingFixtures.TempDir();
        var a = Train(TrainingFixtures.Mlp(runs)).Losses.Losses;
        var b = Train(TrainingFixtures.Mlp(runs)).Losses.Losses;
        Assert.Equal(a, b);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_continues_the_same_loss_sequence()
    {
        var runs = TrainingFixtures.TempDir();
        var experiment = TrainingFixtures.Mlp(runs, epochs: 3, optimizer: "adam", scheduler: "step");
        var uninterrupted = Train(experiment).Losses.Losses;

        var (stopped, firstPart, run) = Train(experiment, null, new StopAfterEpoch(2));
        Assert.Equal("stopped after epoch 2", stopped.StopReason);
        Assert.NotNull(stopped.LastCheckpoint);

        var (_, resumedPart, _) = Train(experiment, stopped.LastCheckpoint);
        Assert.All(resumedPart.Losses, l => Assert.Equal(3, l.Epoch));
        Assert.Equal(uninterrupted, firstPart.Losses.Concat(resumedPart.Losses).ToList());
    }

    private sealed class StopMidEpoch(int atEpoch, int afterBatch) : Extension
    {
        public void PostBatch(int epoch, int batchIndex, StageControl control)
        {
            if (epoch == atEpoch && batchIndex == afterBatch) control.StopRoutine("interrupted");
        }
    }

    [Fact]
    public void Resuming_from_a_checkpoint_written_mid_epoch_continues_the_same_loss_sequence()
    {
        var runs = TrainingFixtures.TempDir();
        var experiment = TrainingFixtures.Mlp(runs, epochs: 3, optimizer: "sgd", scheduler: "step");
        var uninterrupted = Train(experiment).Losses.Losses;

        var (stopped, firstPart, _) = Train(experiment, null, new StopMidEpoch(atEpoch: 2, afterBatch: 3));
        Assert.Contains("batch-000004", stopped.LastCheckpoint);
        var (resumed, resumedPart, _) = Train(experiment, stopped.LastCheckpoint);
        Assert.Equal((2, 4), (resumedPart.Losses[0].Epoch, resumedPart.Losses[0].Batch));
        Assert.Equal(uninterrupted, firstPart.Losses.Concat(resumedPart.Losses).ToList());
        Assert.Equal(3, resumed.Epochs);
    }

    private sealed class FinalParameters : Extension
    {
        public float[] Values = [];
        public void PostFit(nn.Module model)
        {
            using var noGrad = no_grad();
            Values = model.parameters().SelectMany(p => p.flatten().data<float>().ToArray()).ToArray();
        }
    }

    [Fact]
    public void Accumulating_two_half_batches_takes_the_same_steps_as_whole_batches()
    {
        static float[] TrainWith(int batchSize, int accumulate)
        {
            var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 512, optimizer: "sgd") with
            {
                BatchSize = batchSize,
                Accumulate = accumulate,
                Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 16 }, ["dropout"] = 0.0 }),
            };
            var parameters = new FinalParameters();
            using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, [parameters]);
            trainer.Fit();
            return parameters.Values;
        }
        var whole = TrainWith(64, 1);
        var accumulated = TrainWith(32, 2);
        Assert.Equal(whole.Length, accumulated.Length);
        Assert.All(whole.Zip(accumulated), pair => Assert.True(Math.Abs(pair.First - pair.Second) < 1e-5, $"{pair.First} vs {pair.Second}"));
        Assert.NotEqual(whole, TrainWith(32, 1)); // without accumulation the steps differ: the comparison can fail
    }

    /// <summary>Counts batches across a resume: its state travels in the checkpoint.</summary>
    private sealed class BatchCounter : Extension, IStatefulExtension
    {
        public int Count;
        public override string Name => "batch-counter";
        public void PostBatch() => Count++;
        public ExtensionState SaveState() => ExtensionState.FromJson(Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        public void LoadState(ExtensionState state) => Count = int.Parse(state.Json, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void The_state_of_a_stateful_extension_is_restored_on_resume()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 256);
        var first = new BatchCounter();
        var (stopped, _, _) = Train(experiment, null, first, new StopAfterEpoch(1));
        Assert.Equal(4, first.Count);
        var second = new BatchCounter();
        Train(experiment, stopped.LastCheckpoint, second);
        Assert.Equal(8, second.Count);
    }

    private sealed class PerSampleReader : Extension
    {
        public readonly List<(long Samples, float Mean, float Loss)> Seen = new();
        public void PostLoss(Tensor perSampleLoss, Tensor loss) =>
            Seen.Add((perSampleLoss.shape[0], perSampleLoss.mean().item<float>(), loss.item<float>()));
    }

    [Fact]
    public void A_hook_that_asks_for_the_per_sample_loss_gets_one_value_per_sample_whose_mean_is_the_loss()
    {
        var reader = new PerSampleReader();
        Train(TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 256), null, reader);
        Assert.Equal(4, reader.Seen.Count);
        Assert.All(reader.Seen, s => Assert.Equal(64, s.Samples));
        Assert.All(reader.Seen, s => Assert.Equal(s.Loss, s.Mean, 5));
    }

    private sealed class SkipsEvenBatches : Extension
    {
        public void PreBatch(int batchIndex, StageControl control) { if (batchIndex % 2 == 0) control.SkipStage(); }
    }

    [Fact]
    public void A_hook_can_skip_a_batch()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 640);
        var (_, losses, _) = Train(experiment, null, new SkipsEvenBatches());
        Assert.Equal([1, 3, 5, 7, 9], losses.Losses.Select(l => l.Batch));
    }

    private sealed class ZeroInputs : Extension
    {
        public void PreBatch(Tensor inputs, FixtureWriter fixtures) => fixtures.Replace("inputs", zeros_like(inputs));
    }

    private sealed class SeesPrediction : Extension
    {
        public readonly List<float> Spread = new();
        public void PostForward(Tensor prediction) => Spread.Add((prediction.max() - prediction.min()).item<float>());
    }

    [Fact]
    public void A_hook_can_replace_the_batch_inputs()
    {
        // With all-zero inputs every row of a batch gets the same prediction (dropout aside, in eval it is exact).
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 128) with
        {
            Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 16 }, ["dropout"] = 0.0 }),
        };
        var seen = new SeesPrediction();
        var run = RunDirectory.Create(experiment);
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, [new ZeroInputs(), seen]);
        trainer.Fit();
        using var probe = trainer.Predict(zeros(4, 1, 28, 28));
        Assert.Equal(0f, (probe - probe[0]).abs().max().item<float>());
        Assert.NotEmpty(seen.Spread);
    }

    private sealed class Typo : Extension { public void PostBatch(Tensor lss) { } }

    [Fact]
    public void A_hook_asking_for_a_misspelled_fixture_is_refused_before_training()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1);
        var e = Assert.Throws<HookRegistrationException>(() => Trainer.FromExperiment(experiment, TestComponents.Catalog, null, [new Typo()]));
        Assert.Contains("'loss'", e.Message);
    }

    [Fact]
    public void A_checkpoint_with_a_wrong_checksum_is_refused_and_says_so()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 128);
        var (result, _, _) = Train(experiment);
        var bytes = File.ReadAllBytes(result.LastCheckpoint!);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(result.LastCheckpoint!, bytes);
        var e = Assert.Throws<CheckpointCorruptException>(() => Train(experiment, result.LastCheckpoint));
        Assert.Contains(Path.GetFileName(result.LastCheckpoint!), e.Message);
    }

    [Fact]
    public void Evaluate_reports_loss_and_accuracy_on_the_test_split()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1);
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, []);
        var result = trainer.Evaluate();
        Assert.Equal(200, result.Samples);
        Assert.InRange(result.Metric("accuracy"), 0, 1);
        Assert.True(double.IsFinite(result.Loss));
    }
}
