using TrainManager.Stages;
using TrainManager.Tests.Experiments;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Training;

/// <summary>
/// <see cref="TrainerStages.Tree"/> is what extensions are checked against: the trainer provides every fixture it
/// declares, where it declares it, with its declared type; and the README's fixture table is that tree.
/// </summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class TrainerStageContractTests
{
    /// <summary>Records, at the end of every stage, each live fixture with the path of the stage that keeps it.</summary>
    private sealed class FixtureRecorder : Extension
    {
        public readonly Dictionary<(string Owner, string Name), List<object?>> Seen = new();

        private void Record(Trainer trainer)
        {
            var path = trainer.Engine.StagePath.Split('/');
            foreach (var (stage, name, value) in trainer.Engine.AliveFixtures())
            {
                var owner = string.Join('/', path[..(Array.LastIndexOf(path, stage) + 1)]);
                if (!Seen.TryGetValue((owner, name), out var values)) Seen[(owner, name)] = values = new List<object?>();
                values.Add(value);
            }
        }

        public void PostFit(Trainer trainer) => Record(trainer);
        public void PostEpoch(Trainer trainer) => Record(trainer);
        public void PostTrain(Trainer trainer) => Record(trainer);
        public void PostBatch(Trainer trainer) => Record(trainer);
        public void PostForward(Trainer trainer) => Record(trainer);
        public void PostLoss(Trainer trainer) => Record(trainer);
        public void PostBackward(Trainer trainer) => Record(trainer);
        public void PostStep(Trainer trainer) => Record(trainer);
        public void PostValidate(Trainer trainer) => Record(trainer);
        public void PostEvalBatch(Trainer trainer) => Record(trainer);
        public void PostCheckpoint(Trainer trainer) => Record(trainer);
        public void PostTest(Trainer trainer) => Record(trainer);
        public void PostEvaluate(Trainer trainer) => Record(trainer);
        public void PostPredict(Trainer trainer) => Record(trainer);
    }

    [Fact]
    public void Fit_evaluate_and_predict_provide_every_declared_fixture_where_declared_with_its_declared_type()
    {
        var recorder = new FixtureRecorder();
        // With a validation split, so the fit ends with its test stage.
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 128);
        experiment = experiment with { Data = experiment.Data with { Validation = 0.25 } };
        using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, RunDirectory.Create(experiment), [recorder]))
        {
            Assert.Equal(TrainerStages.Tree.All.Select(n => n.Name).Distinct().Order(),
                trainer.Engine.Hooks.Select(h => h.Stage).Distinct().Order());   // the recorder ends every stage
            trainer.AlwaysComputePerSampleLoss = true;
            trainer.Fit();
            trainer.Evaluate();
            using var images = zeros(2, 1, 28, 28);
            using var prediction = trainer.Predict(images);
        }

        var declared = TrainerStages.Tree.Fixtures.ToList();
        Assert.Empty(declared.Where(d => !recorder.Seen.ContainsKey((d.Owner.Path, d.Name))).Select(d => d.ToString()));
        var undeclared = recorder.Seen.Keys.Where(k => !declared.Any(d => (d.Owner.Path, d.Name) == k)).Select(k => $"{k.Owner}: {k.Name}");
        Assert.Empty(undeclared);
        Assert.Empty(declared.Where(d => recorder.Seen.TryGetValue((d.Owner.Path, d.Name), out var values) && !values.All(d.Accepts))
            .Select(d => $"{d}: got {string.Join(", ", recorder.Seen[(d.Owner.Path, d.Name)].Select(v => v?.GetType().Name ?? "null").Distinct())}"));
    }

    private const string TableStart = "<!-- fixture-table: generated from TrainerStages.Tree.FixtureTable() -->";
    private const string TableEnd = "<!-- /fixture-table -->";

    [Fact]
    public void The_readme_fixture_table_is_the_trainer_stage_tree()
    {
        var readme = Path.Combine(ExperimentText.RepositoryRoot, "README.md");
        var text = File.ReadAllText(readme).ReplaceLineEndings("\n");
        var start = text.IndexOf(TableStart, StringComparison.Ordinal);
        var end = text.IndexOf(TableEnd, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"README.md has no fixture table between '{TableStart}' and '{TableEnd}'.");
        var current = text[(start + TableStart.Length)..end].Trim('\n') + "\n";
        var generated = TrainerStages.Tree.FixtureTable();
        if (current != generated && Environment.GetEnvironmentVariable("TRAINMANAGER_UPDATE_README") == "1")
        {
            File.WriteAllText(readme, text[..(start + TableStart.Length)] + "\n" + generated + text[end..]);
            return;
        }
        Assert.True(current == generated,
            "README.md's fixture table is not TrainerStages.Tree.FixtureTable() (a fixture was added, renamed or retyped). " +
            "Regenerate it: TRAINMANAGER_UPDATE_README=1 dotnet test Tests --filter FullyQualifiedName~The_readme_fixture_table_is_the_trainer_stage_tree");
    }
}
