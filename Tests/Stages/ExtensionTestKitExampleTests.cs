using TrainManager.Stages;
using TrainManager.Testing;

namespace TrainManager.Tests.Stages;

/// <summary>
/// How a user tests an extension: derive from <see cref="ExtensionTestKit"/>, drive the stages
/// the extension hooks with the fixtures it needs, and assert what it did.
/// </summary>
public sealed class ExtensionTestKitExampleTests : ExtensionTestKit
{
    /// <summary>The extension under test: stops training when the loss is not finite.</summary>
    private sealed class StopOnNaN : Extension
    {
        public void PostBatch(double loss, StageControl control)
        {
            if (!double.IsFinite(loss)) control.StopRoutine($"loss became {loss}");
        }
    }

    private static StageTree TrainingStages => new StageTree()
        .Stage("fit", f => f.Stage("batch", b => b.Entry("batch_index").Body("loss")));

    [Fact]
    public void StopOnNaN_stops_the_routine_at_the_first_non_finite_loss()
    {
        var driver = Drive(TrainingStages, new StopOnNaN());
        using (driver.Enter("fit"))
        {
            driver.Run("batch", [("batch_index", 0)], f => f["loss"] = 0.7);
            Assert.False(driver.StopRequested);
            driver.Run("batch", [("batch_index", 1)], f => f["loss"] = double.NaN);
            Assert.True(driver.StopRequested);
        }
        Assert.Equal(["StopOnNaN.PostBatch", "StopOnNaN.PostBatch"], driver.HooksRan);
    }

    [Fact]
    public void StopOnNaN_is_refused_by_stages_that_never_provide_a_loss()
    {
        var stagesWithoutLoss = new StageTree().Stage("fit", f => f.Stage("batch", b => b.Entry("batch_index")));
        Assert.Throws<HookRegistrationException>(() => Drive(stagesWithoutLoss, new StopOnNaN()));
    }
}
