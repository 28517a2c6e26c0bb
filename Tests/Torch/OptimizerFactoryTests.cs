using TrainManager.Experiments;
using TorchSharp.Modules;
using TrainManager.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Tests.Torch;

public sealed class OptimizerFactoryTests
{
    static Linear NewLayer() => Linear(4, 3);

    [Theory]
    [InlineData("sgd", typeof(TrainManager.Training.Optimizers.SGD))]
    [InlineData("adam", typeof(TrainManager.Training.Optimizers.Adam))]
    [InlineData("AdamW", typeof(TrainManager.Training.Optimizers.AdamW))]
    public void Each_named_optimizer_is_built_with_the_given_learning_rate(string name, Type expected)
    {
        using var layer = NewLayer();

        using var optimizer = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = name, LearningRate = 0.05, Momentum = 0.9 }, layer.parameters());

        Assert.IsType(expected, optimizer);
        Assert.Equal(0.05, optimizer.ParamGroups.Single().LearningRate, 12);
    }

    [Fact]
    public void An_unknown_optimizer_lists_the_valid_names()
    {
        using var layer = NewLayer();

        var error = Assert.Throws<ExperimentException>(() => TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "lbfgs" }, layer.parameters()));

        Assert.Contains("Known types: adam, adamw, sgd.", error.Message);
        Assert.Equal("optimizer.type", error.KeyPath);
    }

    [Fact]
    public void Nesterov_without_momentum_is_refused_with_the_fix()
    {
        using var layer = NewLayer();

        var error = Assert.Throws<ExperimentException>(() =>
            TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "sgd", Nesterov = true }, layer.parameters()));

        Assert.Contains("momentum > 0", error.Message);
    }

    [Fact]
    public void The_step_schedule_multiplies_the_rate_by_gamma_every_step_size_epochs()
    {
        using var layer = NewLayer();
        using var optimizer = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "sgd", LearningRate = 1.0 }, layer.parameters());
        var schedule = TestComponents.Catalog.CreateSchedule(new SchedulerSection { Type = "step", StepSize = 2, Gamma = 0.5 }, optimizer, 10);

        var rates = new List<double>();
        for (int epoch = 0; epoch < 5; epoch++)
        {
            rates.Add(schedule.LearningRate);
            schedule.Step();
        }

        Assert.Equal([1.0, 1.0, 0.5, 0.5, 0.25], rates.Select(r => Math.Round(r, 9)));
    }

    [Fact]
    public void The_cosine_schedule_reaches_the_minimum_after_one_period()
    {
        using var layer = NewLayer();
        using var optimizer = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "adam", LearningRate = 0.1 }, layer.parameters());
        var schedule = TestComponents.Catalog.CreateSchedule(new SchedulerSection { Type = "cosine", MinLearningRate = 0.01 }, optimizer, 4);

        schedule.Step();
        schedule.Step();
        var halfway = schedule.LearningRate;
        schedule.Step();
        schedule.Step();

        Assert.Equal(0.055, halfway, 9);
        Assert.Equal(0.01, schedule.LearningRate, 9);
    }

    [Fact]
    public void No_schedule_keeps_the_rate_constant()
    {
        using var layer = NewLayer();
        using var optimizer = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { LearningRate = 0.3 }, layer.parameters());
        var schedule = TestComponents.Catalog.CreateSchedule(new SchedulerSection(), optimizer, 3);

        schedule.Step();
        schedule.Step();

        Assert.Equal(0.3, schedule.LearningRate, 12);
        Assert.Equal(2, schedule.Epoch);
    }

    [Fact]
    public void Fast_forwarding_a_fresh_schedule_reproduces_the_rate_of_one_that_ran()
    {
        using var layer = NewLayer();
        using var ran = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "sgd", LearningRate = 1.0 }, layer.parameters());
        var settings = new SchedulerSection { Type = "step", StepSize = 1, Gamma = 0.5 };
        var original = TestComponents.Catalog.CreateSchedule(settings, ran, 10);
        for (int i = 0; i < 3; i++) original.Step();
        using var fresh = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "sgd", LearningRate = 1.0 }, layer.parameters());
        foreach (var group in fresh.ParamGroups) group.LearningRate = original.LearningRate; // as if loaded from a checkpoint

        var resumed = TestComponents.Catalog.CreateSchedule(settings, fresh, 10);
        resumed.FastForward(3);

        Assert.Equal(original.LearningRate, resumed.LearningRate, 12);
    }

    [Fact]
    public void Clipping_scales_the_global_gradient_norm_down_to_the_limit()
    {
        using var layer = NewLayer();
        using var input = ones(8, 4) * 100;
        using var loss = layer.forward(input).pow(2).sum();
        loss.backward();

        var before = GradientClipping.ClipByGlobalNorm(layer.parameters(), maxNorm: 1.0);
        var after = Math.Sqrt(layer.parameters().Sum(p => p.grad!.pow(2).sum().item<float>()));

        Assert.True(before > 1.0);
        Assert.Equal(1.0, after, 3);
    }
}
