using TrainManager.Stages;

namespace TrainManager.Training;

/// <summary>
/// The stages of <see cref="Trainer"/> and the fixtures each provides. Extensions are checked against
/// this tree when they are registered. Print it with <c>TrainerStages.Tree.ToString()</c>.
/// <para><c>epoch</c> is the epoch's number, counted from 1 ("epoch 1 of 10"), as in checkpoint names and metrics
/// files. <c>metrics</c> holds <c>train_loss</c>, <c>&lt;split&gt;_loss</c> and <c>&lt;split&gt;_&lt;metric&gt;</c>
/// for the task's metrics (split <c>val</c> with a validation split, <c>test</c> otherwise), <c>lr</c>,
/// <c>samples_per_second</c> and <c>epoch_seconds</c>. <c>eval_metrics</c> holds one split's metrics by bare name
/// (<c>accuracy</c>); <c>split</c> says which split (<c>val</c> or <c>test</c>).</para>
/// </summary>
public static class TrainerStages
{
    public static StageTree Tree { get; } = new StageTree()
        .Stage("fit", fit => fit
            .Entry("model", "optimizer", "device", "epochs", "batches_per_epoch", "batch_size", "train_data", "validation_data",
                   "test_data", "task", "run_dir", "seed", "rank", "world_size", "model_spec")
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
                    .Entry("split")
                    .Body("eval_loss", "eval_metrics")
                    .Stage("eval_batch", EvalBatch))
                .Stage("checkpoint", c => c.Body("checkpoint_path")))
            .Stage("test", test => test
                .Entry("split")
                .Body("eval_loss", "eval_metrics")
                .Stage("eval_batch", EvalBatch)))
        .Stage("evaluate", evaluate => evaluate
            .Entry("model", "device", "data", "split", "task")
            .Body("eval_loss", "eval_metrics", "metrics")
            .Stage("eval_batch", EvalBatch))
        .Stage("predict", predict => predict
            .Entry("model", "device", "inputs")
            .Body("prediction"));

    private static void EvalBatch(StageNode node) => node
        .Entry("batch_index", "inputs", "targets", "sample_indices")
        .Body("prediction", "per_sample_loss", "loss")
        .Stage("forward", f => f.Body("prediction"));
}
