using TrainManager.Stages;

namespace TrainManager.Training;

/// <summary>
/// The stages of <see cref="Trainer"/> and the fixtures each provides. Extensions are checked against
/// this tree when they are registered. Print it with <c>TrainerStages.Tree.ToString()</c>.
/// </summary>
public static class TrainerStages
{
    public static StageTree Tree { get; } = new StageTree()
        .Stage("fit", fit => fit
            .Entry("model", "optimizer", "device", "epochs", "batches_per_epoch", "batch_size", "train_data", "test_data",
                   "run_dir", "seed", "rank", "world_size", "model_spec")
            .Body("result")
            .Stage("epoch", epoch => epoch
                .Entry("epoch")
                .Body("metrics")
                .Stage("train", train => train
                    .Body("train_loss", "samples_per_second")
                    .Stage("batch", batch => batch
                        .Entry("batch_index", "step", "inputs", "targets", "sample_indices", "learning_rate")
                        .Replaceable("inputs", "targets")
                        .Body("prediction", "per_sample_loss", "loss")
                        .Stage("forward", f => f.Body("prediction"))
                        .Stage("loss", l => l.Body("per_sample_loss", "loss"))
                        .Stage("backward")
                        .Stage("step")))
                .Stage("validate", validate => validate
                    .Body("test_loss", "test_accuracy")
                    .Stage("eval_batch", EvalBatch))
                .Stage("checkpoint", c => c.Body("checkpoint_path"))))
        .Stage("evaluate", evaluate => evaluate
            .Entry("model", "device", "data")
            .Body("test_loss", "test_accuracy", "metrics")
            .Stage("eval_batch", EvalBatch))
        .Stage("predict", predict => predict
            .Entry("model", "device", "inputs")
            .Body("prediction"));

    private static void EvalBatch(StageNode node) => node
        .Entry("batch_index", "inputs", "targets", "sample_indices")
        .Body("prediction", "per_sample_loss", "loss")
        .Stage("forward", f => f.Body("prediction"));
}
