using System.Text.Json;
using TorchSharp;
using TrainManager.Checkpoints;
using TrainManager.Components;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Extensions.Report;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Tasks;
using TrainManager.Tests.Training;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Tasks;

/// <summary>Training with each task on small synthetic data: the loss and the metrics come from the task, the best
/// checkpoint follows the configured metric.</summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class TaskTrainingTests
{
    /// <summary>y = Wx + b with two outputs, and a little noise.</summary>
    static (TensorDataset Train, TensorDataset Test) LinearData(int samples = 512, int seed = 1)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        using var weights = tensor(new float[] { 1.5f, -2, 0.5f, 1, 0, 3, -1, 0.25f }, [4, 2]);
        using var bias = tensor(new float[] { 0.5f, -1 });
        TensorDataset Split(int n)
        {
            var x = randn([n, 4], generator: generator);
            using var noise = 0.05.ToScalar();
            var y = x.matmul(weights).add(bias).add(randn([n, 2], generator: generator).mul(noise));
            return new TensorDataset(x, y);
        }
        return (Split(samples), Split(200));
    }

    /// <summary>Three labels: label j is on when feature j is positive.</summary>
    static (TensorDataset Train, TensorDataset Test) MultiLabelData(int samples = 512)
    {
        using var generator = new TorchSharp.torch.Generator(3);
        TensorDataset Split(int n)
        {
            var x = randn([n, 6], generator: generator);
            using var zero = 0.0.ToScalar();
            return new TensorDataset(x, x.narrow(1, 0, 3).gt(zero).to(float32));
        }
        return (Split(samples), Split(200));
    }

    static Experiment Experiment(TaskSection task, int epochs = 5, CheckpointSection? checkpoint = null) =>
        TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs) with
        {
            BatchSize = 32,
            Task = task,
            Optimizer = new OptimizerSection { Type = "adam", LearningRate = 0.05 },
            Checkpoint = checkpoint ?? new CheckpointSection { EveryEpochs = 1, Keep = 0 },
        };

    static Trainer NewTrainer(Experiment experiment, nn.Module<Tensor, Tensor> module, IDataset train, IDataset test,
        RunDirectory? run = null, IDataset? validation = null, ITrainingTask? task = null, params Extension[] extensions)
    {
        TrainManager.Runtime.TorchRuntime.EnsureLoaded();
        var model = new ModelInstance(new ModelSpec("linear"), module);
        return new Trainer(new TrainerSetup(experiment, model, train, test, TestComponents.Catalog, run, ValidationData: validation,
            Task: task), extensions);
    }

    static nn.Module<Tensor, Tensor> Linear(int inputs, int outputs)
    {
        manual_seed(5);
        return nn.Linear(inputs, outputs);
    }

    [Fact]
    public void Regression_converges_on_a_linear_target()
    {
        var (train, test) = LinearData();
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["mse", "mae", "r2"] });
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test);

        var result = trainer.Fit();

        Assert.True(result.Metric("test_r2") > 0.98, $"R² {result.Metric("test_r2")}");
        Assert.True(result.Metric("test_mse") < 0.1, $"MSE {result.Metric("test_mse")}");
        Assert.True(result.Metric("test_mae") < 0.3, $"MAE {result.Metric("test_mae")}");
    }

    [Fact]
    public void Multi_label_converges_on_labels_a_linear_model_can_separate()
    {
        var (train, test) = MultiLabelData();
        var experiment = Experiment(new TaskSection { Type = "multi-label", Metrics = ["f1-macro", "f1-2", "accuracy"] });
        using var trainer = NewTrainer(experiment, Linear(6, 3), train, test);

        var result = trainer.Fit();

        Assert.True(result.Metric("test_f1-macro") > 0.9, $"macro F1 {result.Metric("test_f1-macro")}");
        Assert.True(result.Metric("test_f1-2") > 0.9, $"F1 of label 2 {result.Metric("test_f1-2")}");
        Assert.True(result.Metric("test_accuracy") > 0.8, $"exact match {result.Metric("test_accuracy")}");
    }

    [Fact]
    public void With_a_validation_split_epochs_report_val_metrics_and_the_test_split_is_evaluated_at_the_end()
    {
        var (train, test) = LinearData();
        var (validation, _) = LinearData(200, seed: 2);
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["r2"] }, epochs: 2);
        var run = RunDirectory.Create(experiment);
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test, run, validation);

        var result = trainer.Fit();

        Assert.All(result.History, epoch => Assert.Equal(["train_loss", "val_loss", "val_r2", "lr", "samples_per_second", "epoch_seconds"], epoch.Keys));
        Assert.Equal(["train_loss", "val_loss", "val_r2", "test_loss", "test_r2"], result.Metrics.Keys);
        Assert.True(double.IsFinite(result.Metric("test_r2")));
        Assert.Contains("\"test_r2\":", File.ReadAllText(Path.Combine(run.MetricsDirectory, "test.json")));
        Assert.Equal("val_r2", result.BestMetric);
    }

    [Fact]
    public void Epochs_are_numbered_from_one_in_the_metrics_file_and_checkpoint_names()
    {
        var (train, test) = LinearData();
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["mse"] }, epochs: 2);
        var run = RunDirectory.Create(experiment);
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test, run);

        trainer.Fit();

        var epochs = File.ReadAllLines(Path.Combine(run.MetricsDirectory, "epochs.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("epoch").GetInt32());
        Assert.Equal([1, 2], epochs);
        Assert.Equal(["epoch-0001", "epoch-0002"], new CheckpointStore(run.CheckpointDirectory).List().Select(p => Path.GetFileName(p)[..10]));
    }

    [Theory]
    [InlineData("min")]
    [InlineData("max")]
    public void The_best_checkpoint_follows_the_configured_metric_and_direction(string mode)
    {
        var (train, test) = LinearData();
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["mse"] }, epochs: 4,
            new CheckpointSection { EveryEpochs = 1, Keep = 0, Best = "mse", BestMode = mode });
        var run = RunDirectory.Create(experiment);
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test, run);

        var result = trainer.Fit();

        var mse = result.History.Select(e => e["test_mse"]).ToList();
        var expected = 1 + (mode == "min" ? mse.IndexOf(mse.Min()) : mse.IndexOf(mse.Max()));
        var best = BestCheckpoint.Read(run.CheckpointDirectory);
        Assert.NotNull(best);
        Assert.Equal(("test_mse", mode, expected), (best.Metric, best.Mode, best.Epoch));
        Assert.Equal(best.PathIn(run.CheckpointDirectory), result.BestCheckpoint);
    }

    [Fact]
    public void Keep_does_not_delete_the_best_checkpoint()
    {
        var (train, test) = LinearData();
        // mse only falls here, so "max" makes the first epoch the best: keep = 1 would delete it.
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["mse"] }, epochs: 4,
            new CheckpointSection { EveryEpochs = 1, Keep = 1, Best = "mse", BestMode = "max" });
        var run = RunDirectory.Create(experiment);
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test, run);

        trainer.Fit();

        var left = new CheckpointStore(run.CheckpointDirectory).List().Select(Path.GetFileName).ToList();
        Assert.Equal(2, left.Count);
        Assert.StartsWith("epoch-0001", left[0]);
        Assert.StartsWith("epoch-0004", left[1]);
    }

    [Fact]
    public void A_best_metric_on_a_split_the_run_does_not_evaluate_each_epoch_is_refused()
    {
        var (train, test) = LinearData();
        var experiment = Experiment(new TaskSection { Type = "regression", Metrics = ["r2"] }, epochs: 1,
            new CheckpointSection { Best = "val_r2" });

        var e = Assert.Throws<ExperimentException>(() => NewTrainer(experiment, Linear(4, 2), train, test));

        Assert.Equal("checkpoint.best", e.KeyPath);
        Assert.Contains("best = r2", e.Message);
    }

    /// <summary>A user's metric: the share of outputs within 0.5 of their target.</summary>
    private sealed class WithinHalf : IMetric
    {
        long _within, _count;

        public void Update(Tensor prediction, Tensor targets)
        {
            using var scope = NewDisposeScope();
            using var half = 0.5.ToScalar();
            _within += prediction.sub(targets).abs().le(half).sum().item<long>();
            _count += prediction.numel();
        }

        public double Compute() => _count > 0 ? (double)_within / _count : double.NaN;
    }

    /// <summary>A user's task: the L1 loss and its own metric.</summary>
    [Component("tolerant-regression")]
    private sealed class TolerantRegression : ITrainingTask
    {
        public Tensor PerSampleLoss(Tensor prediction, Tensor targets) => prediction.sub(targets).abs().mean([1]);

        public IReadOnlyList<MetricDefinition> Metrics { get; } = [new("within-half", () => new WithinHalf())];
    }

    [Fact]
    public void A_user_tasks_metric_reaches_the_metrics_file_and_the_report()
    {
        var (train, test) = LinearData();
        var experiment = Experiment(new TaskSection { Type = "tolerant-regression", Metrics = [] }, epochs: 2);
        var run = RunDirectory.Create(experiment);
        using var trainer = NewTrainer(experiment, Linear(4, 2), train, test, run, task: new TolerantRegression(),
            extensions: new RunReportExtension("tolerant"));

        var result = trainer.Fit();

        Assert.True(result.Metric("test_within-half") > 0.5, $"within 0.5: {result.Metric("test_within-half")}");
        Assert.All(File.ReadAllLines(Path.Combine(run.MetricsDirectory, "epochs.jsonl")), line => Assert.Contains("\"test_within-half\":", line));
        var html = File.ReadAllText(Path.Combine(run.Path, "report.html"));
        Assert.Contains("<th>test within-half</th>", html);
        Assert.Contains("title=\"highest test within-half\"", html);
    }
}
