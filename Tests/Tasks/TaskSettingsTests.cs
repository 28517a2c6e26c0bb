using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Tasks;

/// <summary>The <c>task</c> block and <c>checkpoint.best</c>: defaults, and mistakes refused when the experiment loads.</summary>
public sealed class TaskSettingsTests
{
    // With the components known, the task and its metrics are checked when the experiment loads.
    static Experiment Parse(string text, string? name = null) => ExperimentLoader.Parse(text, name, components: TestComponents.Catalog);

    [Fact]
    public void Without_a_task_block_the_run_is_classification_reporting_accuracy_and_keeping_the_best_by_it()
    {
        var e = Parse(MinimalWith());

        Assert.Equal("classification", e.Task.Type);
        Assert.Equal(["accuracy"], e.Task.Metrics);
        Assert.Equal(("accuracy", "max"), (e.Checkpoint.Best, e.Checkpoint.BestMode));
    }

    [Fact]
    public void The_task_names_its_metrics_and_the_best_checkpoint_takes_the_first_one_in_its_direction()
    {
        var e = Parse(MinimalWith("task { type = regression, metrics = [mae, r2] }"));

        Assert.Equal(["mae", "r2"], e.Task.Metrics);
        Assert.Equal(("mae", "min"), (e.Checkpoint.Best, e.Checkpoint.BestMode));
    }

    [Fact]
    public void An_unknown_metric_is_refused_with_the_list_of_the_tasks_metrics()
    {
        var error = Assert.Throws<ExperimentException>(() => Parse(MinimalWith("task { metrics = [accuracy, f1] }"), "exp.hocon"));

        Assert.Equal("task.metrics", error.KeyPath);
        Assert.Contains("'f1'", error.Message);
        Assert.Contains("accuracy, top<k>, f1-macro", error.Message);
        Assert.True(TrainManager.Experiments.BadInput.Is(error));
    }

    [Fact]
    public void A_best_metric_that_is_not_reported_is_refused()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            Parse(MinimalWith("task { metrics = [accuracy] }", "checkpoint { best = f1-macro }")));

        Assert.Equal("checkpoint.best", error.KeyPath);
        Assert.Contains("loss or one of task.metrics (accuracy)", error.Message);
    }

    [Fact]
    public void A_best_mode_other_than_max_or_min_is_refused()
    {
        var error = Assert.Throws<ExperimentException>(() => Parse(MinimalWith("checkpoint { best-mode = highest }")));

        Assert.Equal("checkpoint.best-mode", error.KeyPath);
    }

    [Fact]
    public void A_setting_the_task_does_not_have_is_refused()
    {
        var error = Assert.Throws<ExperimentException>(() => Parse(MinimalWith("task { type = classification, threshold = 0.3 }")));

        Assert.Equal("task.threshold", error.KeyPath);
    }

    [Fact]
    public void Top_k_accepts_any_k() =>
        Assert.Equal(["top3", "accuracy"], Parse(MinimalWith("task { metrics = [top3, accuracy] }")).Task.Metrics);
}
