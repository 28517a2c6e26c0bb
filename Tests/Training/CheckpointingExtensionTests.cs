using TrainManager.Checkpoints;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Tasks;
using TrainManager.Tests.Experiments;
using TrainManager.Training;

namespace TrainManager.Tests.Training;

/// <summary>
/// Checkpointing is an extension (<see cref="CheckpointingExtension"/>): its policy decides which epochs get a
/// checkpoint, and the trainer registers it where it writes checkpoints, first among the checkpoint stage's hooks.
/// </summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class CheckpointingExtensionTests
{
    static CheckpointingExtension Policy(int every, int epochs, MetricGoal goal = MetricGoal.Maximize) =>
        new(new CheckpointStore(TrainingFixtures.TempDir()), new CheckpointSection { EveryEpochs = every }, epochs, "val_accuracy",
            new BestMetric("accuracy", goal, null));

    /// <param name="accuracies">val_accuracy of each epoch, comma-separated (NaN: not evaluated).</param>
    /// <param name="stopAfter">The 1-based epoch after which a stop was asked for; 0: none.</param>
    /// <param name="due">The 1-based epochs that get a checkpoint.</param>
    [Theory]
    [InlineData(1, "0.5,0.4,0.3", 0, "1,2,3")]          // every epoch
    [InlineData(0, "0.5,0.4,0.3", 0, "1,3")]            // only the last, and the first best
    [InlineData(2, "0.5,0.4,0.3,0.2", 0, "1,2,4")]      // every second, the first best, the last
    [InlineData(0, "0.1,0.2,0.2,0.3", 0, "1,2,4")]      // each improvement; an equal value is no improvement
    [InlineData(3, "0.5,0.4,0.3,0.2,0.1", 2, "1,2")]    // a stop: that epoch gets one
    [InlineData(0, "NaN,NaN,NaN", 0, "3")]               // never evaluated: never a best
    public void The_epochs_that_get_a_checkpoint_are_the_scheduled_the_best_the_last_and_a_stop(int every, string accuracies, int stopAfter, string due)
    {
        var values = accuracies.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var policy = Policy(every, values.Count);
        var written = new List<int>();
        for (var epoch = 0; epoch < values.Count; epoch++)
        {
            var stopping = epoch + 1 == stopAfter;
            if (policy.IsDueAfter(epoch, new Dictionary<string, double> { ["val_accuracy"] = values[epoch] }, stopping))
                written.Add(epoch + 1);
            if (stopping) break;
        }
        Assert.Equal(due.Split(',').Select(int.Parse), written);
    }

    [Fact]
    public void A_minimised_metric_improves_downwards()
    {
        var policy = Policy(every: 0, epochs: 4, MetricGoal.Minimize);
        var due = new[] { 0.5, 0.6, 0.4, 0.45 }.Select((v, e) => policy.IsDueAfter(e, new Dictionary<string, double> { ["val_accuracy"] = v }, false));
        Assert.Equal([true, false, true, true], due);
    }

    /// <summary>Reads <c>checkpoint_path</c> before the checkpoint stage's body: only a hook that ran before it can have set it.</summary>
    sealed class PathReader : Extension
    {
        public readonly List<(string Path, bool Exists)> Seen = [];
        public void PreCheckpoint(string checkpointPath) => Seen.Add((checkpointPath, File.Exists(checkpointPath)));
    }

    [Fact]
    public void The_trainer_registers_it_where_it_writes_checkpoints_and_it_writes_before_the_stages_other_hooks()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 64);
        var reader = new PathReader();
        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, RunDirectory.Create(experiment), [reader]))
        {
            Assert.Single(trainer.Extensions.OfType<CheckpointingExtension>());
            var result = trainer.Fit();
            Assert.Equal(2, reader.Seen.Count);
            Assert.All(reader.Seen, seen => Assert.True(seen.Exists, seen.Path));
            Assert.Equal(result.LastCheckpoint, reader.Seen[^1].Path);
        }
        using (var withoutRun = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, []))
            Assert.Empty(withoutRun.Extensions.OfType<CheckpointingExtension>());
    }
}
