using TrainManager.Data;
using TrainManager.Models;
using TrainManager.Stages;
using static TorchSharp.torch;

namespace TrainManager.Training;

/// <summary>
/// The stages of <see cref="Trainer"/>, the fixtures each provides with their types, in the order the routine
/// defines them. Extensions are checked against this tree when they are registered, and the trainer's routines
/// are held to it while they run (<see cref="StageTreeConformance.Exact"/>): a <c>Staged</c> call or a fixture that
/// is not declared here, or not of its declared type, fails at once. Print it with <c>TrainerStages.Tree.ToString()</c>;
/// the README's fixture table is <c>TrainerStages.Tree.FixtureTable()</c>.
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
            .Entry<IDataset>("train_data", "test_data")
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
                    .Stage("eval_batch", EvalBatch)
                    .Body<double>("test_loss", "test_accuracy"))
                .Body<IReadOnlyDictionary<string, double>>("metrics")
                .Stage("checkpoint", c => c.Body<string>("checkpoint_path")))
            .Body<FitResult>("result"))
        .Stage("evaluate", evaluate => evaluate
            .Entry<nn.Module<Tensor, Tensor>>("model")
            .Entry<Device>("device")
            .Entry<IDataset>("data")
            .Stage("eval_batch", EvalBatch)
            .Body<double>("test_loss", "test_accuracy")
            .Body<IReadOnlyDictionary<string, double>>("metrics"))
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
