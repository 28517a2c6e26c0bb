using TrainManager.Checkpoints;
using TrainManager.Cli;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary>Which checkpoint <c>eval RUN</c> takes.</summary>
public sealed class CheckpointLocatorTests
{
    static string RunWithTwoCheckpoints()
    {
        var run = Path.Combine(TempDirectory(), "20250101-120000-exp-ab12");
        var checkpoints = Path.Combine(run, "checkpoints");
        Directory.CreateDirectory(checkpoints);
        File.WriteAllText(Path.Combine(run, "experiment.hocon"), "name = exp\n");
        File.WriteAllText(Path.Combine(checkpoints, "epoch-0001-step-000000010.ckpt"), "");
        File.WriteAllText(Path.Combine(checkpoints, "epoch-0002-step-000000020.ckpt"), "");
        return run;
    }

    [Fact]
    public void Eval_of_a_run_takes_its_best_checkpoint_and_says_so()
    {
        var run = RunWithTwoCheckpoints();
        new BestCheckpoint("epoch-0001-step-000000010.ckpt", "val_accuracy", "max", 0.875, 1).Write(Path.Combine(run, "checkpoints"));

        var (_, checkpoint, why) = CheckpointLocator.ForEvaluation(run);

        Assert.EndsWith("epoch-0001-step-000000010.ckpt", checkpoint);
        Assert.Equal("the best by val_accuracy (max 0.875, epoch 1)", why);
    }

    [Fact]
    public void Eval_of_a_run_without_a_best_checkpoint_takes_the_newest_and_says_so()
    {
        var (_, checkpoint, why) = CheckpointLocator.ForEvaluation(RunWithTwoCheckpoints());

        Assert.EndsWith("epoch-0002-step-000000020.ckpt", checkpoint);
        Assert.StartsWith("the newest", why);
    }

    [Fact]
    public void A_best_pointer_to_a_deleted_checkpoint_is_passed_over()
    {
        var run = RunWithTwoCheckpoints();
        new BestCheckpoint("epoch-0009-step-000000090.ckpt", "val_accuracy", "max", 0.9, 9).Write(Path.Combine(run, "checkpoints"));

        var (_, checkpoint, _) = CheckpointLocator.ForEvaluation(run);

        Assert.EndsWith("epoch-0002-step-000000020.ckpt", checkpoint);
    }
}
