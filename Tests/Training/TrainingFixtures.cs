using TrainManager.Experiments;

namespace TrainManager.Tests.Training;

/// <summary>Small experiments on the Fashion-MNIST slice committed with the tests.</summary>
internal static class TrainingFixtures
{
    public static string SlicePath => Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist-slice");

    public static Experiment Mlp(string runsDir, int epochs = 2, int trainLimit = 512, string optimizer = "adam", string scheduler = "none") => new()
    {
        Name = "mlp-slice",
        Seed = 7,
        Epochs = epochs,
        BatchSize = 64,
        Threads = 1,
        Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 32 }, ["dropout"] = 0.1 }),
        Data = new DataSection { Type = "fashion-mnist", Path = SlicePath, TrainLimit = trainLimit, TestLimit = 200 },
        Optimizer = new OptimizerSection { Type = optimizer, LearningRate = 3e-3, Momentum = optimizer == "sgd" ? 0.9 : 0 },
        Scheduler = new SchedulerSection { Type = scheduler, StepSize = 1, Gamma = 0.5 },
        Checkpoint = new CheckpointSection { EveryEpochs = 1, Keep = 0 },
        RunsDirectory = runsDir,
        ResolvedHocon = "name = mlp-slice\n",
    };

    public static string TempDir() => TestDirectory.Create("tests");
}
