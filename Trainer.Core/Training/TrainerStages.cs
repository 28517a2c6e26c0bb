using TrainManager.Checkpoints;
using TrainManager.Data;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Tasks;
using static TorchSharp.torch;

namespace TrainManager.Training;

/// <summary>
/// The stages of <see cref="Trainer"/>, the fixtures each provides with their types, in the order the routine
/// defines them. Extensions are checked against this tree when they are registered, and the trainer's routines
/// are held to it while they run (<see cref="StageTreeConformance.Exact"/>): a <c>Staged</c> call or a fixture that
/// is not declared here, or not of its declared type, fails at once. Print it with <c>TrainerStages.Tree.ToString()</c>;
/// the README's fixture table is <c>TrainerStages.Tree.FixtureTable()</c>.
/// <para><c>epoch</c> is the epoch's number, counted from 1 ("epoch 1 of 10"), as in checkpoint names and metrics
/// files. <c>metrics</c> holds <c>train_loss</c>, <c>&lt;split&gt;_loss</c> and <c>&lt;split&gt;_&lt;metric&gt;</c>
/// for the task's metrics (split <c>val</c> with a validation split, <c>test</c> otherwise), <c>lr</c>,
/// <c>samples_per_second</c> and <c>epoch_seconds</c>. <c>eval_metrics</c> holds one split's metrics by bare name
/// (<c>accuracy</c>); <c>split</c> says which split (<c>val</c> or <c>test</c>).</para>
/// </summary>
public static class TrainerStages
{
    private const string ScalarLoss =
        "a scalar Tensor on the device; loss.item<float>() reads its value (and waits for the device), " +
        "so a hook that reads it on every batch slows training down";

    public static StageTree Tree { get; } = new StageTree()
        .Stage("fit", fit => fit
            .Entry<nn.Module<Tensor, Tensor>>("model")
            .Entry<optim.Optimizer>("optimizer")
            .Entry<Device>("device")
            .Entry<int>("epochs", "batches_per_epoch", "batch_size")
            .Entry<IDataset>("train_data")
            .Entry<IDataset>("validation_data").MayBeNull("validation_data")
            .Entry<IDataset>("test_data")
            .Entry<ConfiguredTask>("task")
            .Entry<string>("run_dir").MayBeNull("run_dir")
            .Entry<long>("seed")
            .Entry<int>("rank", "world_size")
            .Entry<ModelSpec>("model_spec")
            .Stage("epoch", epoch => epoch
                .Entry<int>("epoch")
                .Stage("train", train => train
                    .Stage("batch", batch => batch
                        .Entry<int>("batch_index")
                        .Entry<long>("step")
                        .Entry<Tensor>("inputs", "targets")
                        .Entry<long[]>("sample_indices")
                        .Entry<double>("learning_rate")
                        .Replaceable("inputs", "targets")
                        .Stage("forward", f => f.BodyKeptBy<Tensor>("batch", "prediction"))
                        .Stage("loss", l => l
                            .BodyKeptBy<Tensor>("batch", "per_sample_loss", "loss")
                            .Hint("per_sample_loss", "one loss per sample, computed only when a hook asks for it")
                            .Hint("loss", ScalarLoss))
                        .Stage("backward")
                        .Stage("step"))
                    .Body<double>("train_loss", "samples_per_second"))
                .Stage("validate", validate => validate
                    .Entry<string>("split")
                    .Stage("eval_batch", EvalBatch)
                    .Body<double>("eval_loss")
                    .Body<IReadOnlyDictionary<string, double>>("eval_metrics"))
                .Body<IReadOnlyDictionary<string, double>>("metrics")
                .Stage("checkpoint", c => c
                    .Entry<CheckpointContent>("checkpoint_content")
                    .Body<string>("checkpoint_path")
                    .Hint("checkpoint_path", "the checkpoint file, written by the checkpointing extension before the stage's other hooks")))
            .Stage("test", test => test
                .Entry<string>("split")
                .Stage("eval_batch", EvalBatch)
                .Body<double>("eval_loss")
                .Body<IReadOnlyDictionary<string, double>>("eval_metrics"))
            .Body<FitResult>("result"))
        .Stage("evaluate", evaluate => evaluate
            .Entry<nn.Module<Tensor, Tensor>>("model")
            .Entry<Device>("device")
            .Entry<IDataset>("data")
            .Entry<string>("split")
            .Entry<ConfiguredTask>("task")
            .Stage("eval_batch", EvalBatch)
            .Body<double>("eval_loss")
            .Body<IReadOnlyDictionary<string, double>>("eval_metrics", "metrics"))
        .Stage("predict", predict => predict
            .Entry<nn.Module<Tensor, Tensor>>("model")
            .Entry<Device>("device")
            .Entry<Tensor>("inputs")
            .Body<Tensor>("prediction"));

    private static void EvalBatch(StageNode node) => node
        .Entry<int>("batch_index")
        .Entry<Tensor>("inputs", "targets")
        .Entry<long[]>("sample_indices")
        .Stage("forward", f => f.BodyKeptBy<Tensor>("eval_batch", "prediction"))
        .Body<Tensor>("per_sample_loss", "loss")
        .Hint("loss", ScalarLoss);
}
