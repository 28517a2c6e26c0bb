using TrainManager.Stages;
using TrainManager.Testing;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Stages;

/// <summary>
/// How a user tests an extension: derive from <see cref="ExtensionTestKit"/>, drive the stages
/// the extension hooks with the fixtures it needs, and assert what it did. Driving against
/// <see cref="TrainerStages.Tree"/> checks the extension against the trainer's own contract.
/// </summary>
public sealed class ExtensionTestKitExampleTests : ExtensionTestKit
{
    /// <summary>The extension under test (the README's): stops training when the loss is not finite.</summary>
    private sealed class StopOnNaN : Extension
    {
        public void PostBatch(Tensor loss, StageControl control)
        {
            var value = loss.item<float>();
            if (!float.IsFinite(value)) control.StopRoutine($"loss became {value}");
        }
    }

    [Fact]
    public void StopOnNaN_stops_the_routine_at_the_first_non_finite_loss()
    {
        var driver = Drive(TrainerStages.Tree, new StopOnNaN());
        using (driver.Enter("fit"))
        {
            driver.Run("batch", [("batch_index", 0)], f => f["loss"] = tensor(0.7f));
            Assert.False(driver.StopRequested);
            driver.Run("batch", [("batch_index", 1)], f => f["loss"] = tensor(float.NaN));
            Assert.True(driver.StopRequested);
        }
        Assert.Equal(["StopOnNaN.PostBatch", "StopOnNaN.PostBatch"], driver.HooksRan);
    }

    [Fact]
    public void StopOnNaN_is_refused_by_stages_that_never_provide_a_loss()
    {
        var stagesWithoutLoss = new StageTree().Stage("fit", f => f.Stage("batch", b => b.Entry<int>("batch_index")));
        Assert.Throws<HookRegistrationException>(() => Drive(stagesWithoutLoss, new StopOnNaN()));
    }
}
