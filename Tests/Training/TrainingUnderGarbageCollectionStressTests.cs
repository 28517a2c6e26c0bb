using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Testing;
using TrainManager.Training;
using TrainManager.Components;

namespace TrainManager.Tests.Training;

/// <summary>Runs alone: its forced collections would slow every test running beside it, and the finalizer count is
/// process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GarbageCollectionStressCollection
{
    public const string Name = "garbage-collection stress";
}

/// <summary>
/// Training must not crash on its own: a Scalar or tensor that nothing keeps alive can be freed by the finalizer while
/// libtorch reads it. The first test counts what a fit leaves to the finalizer (none); the second is the CI-sized
/// version of <c>bench soak</c>, training with every built-in extension while collections and finalizers run all the
/// time on other threads (before the fix, a sixth of such runs failed inside the optimizer step, BatchNorm or the
/// gradient probe).
/// </summary>
[Collection(GarbageCollectionStressCollection.Name)]
public sealed class TrainingUnderGarbageCollectionStressTests
{
    static readonly string[] AllBuiltIns = ["progress", "loss-plot", "gradient-plot", "tensorboard", "provenance", "leakage-check", "report"];

    [Theory]
    [InlineData("mlp", "sgd")]
    [InlineData("cnn", "adam")]
    [InlineData("mlp", "adamw")]
    public void A_fit_with_every_built_in_extension_leaves_no_Scalar_or_tensor_to_the_finalizer(string model, string optimizer)
    {
        // Deterministic where the stress below is only likely to hit: a native object the fit made and did not own is
        // finalized sooner or later, and the runtime says so. (Before the fix: about 600 Scalars in such a fit.)
        var experiment = Experiment(model, optimizer);
        var run = RunDirectory.Create(experiment);
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, BuiltIns(experiment, run));
        using var watch = NativeFinalizations.Watch();

        trainer.Fit();

        Assert.Equal(new FinalizedNativeObjects(0, 0), watch.Stop());
    }

    [Theory]
    [InlineData("mlp", "sgd")]
    [InlineData("cnn", "adam")]
    [InlineData("mlp", "adamw")]
    public void A_fit_with_every_built_in_extension_finishes_and_resumes_while_collections_run_all_the_time(string model, string optimizer)
    {
        var experiment = Experiment(model, optimizer);
        var run = RunDirectory.Create(experiment);

        using (var stress = GarbageCollectionStress.Start())
        {
            var paced = new PacedByCollections(stress);
            string firstCheckpoint;
            using (var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, [.. BuiltIns(experiment, run), paced]))
            {
                var result = trainer.Fit();
                Assert.Equal(2, result.Epochs);
                Assert.True(double.IsFinite(result.TrainLoss), $"training loss {result.TrainLoss}");
                firstCheckpoint = trainer.Checkpoints!.List().First();
            }
            var longer = experiment with { Epochs = 3 };
            using (var resumed = Trainer.FromExperiment(longer, TestComponents.Catalog, run, [.. BuiltIns(longer, run), paced]))
                Assert.Equal(3, resumed.Fit(firstCheckpoint).Epochs);

            // The stress was real: the runtime collected many times while these 48 batches trained.
            Assert.True(stress.Collections > 200, $"only {stress.Collections} forced collections");
        }
    }

    /// <summary>Holds each batch until the stress has forced a few more collections: on a machine so loaded that the
    /// collecting thread rarely runs, the fit still trains under collections, rather than finishing between them.</summary>
    sealed class PacedByCollections(GarbageCollectionStress stress) : TrainManager.Stages.Extension
    {
        const int PerBatch = 5;
        static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        long _target;

        public void PreBatch() => _target = stress.Collections + PerBatch;

        public void PostBatch()
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (stress.Collections < _target)
            {
                if (waited.Elapsed > Patience)
                    throw new TimeoutException($"the stress forced {stress.Collections} collections and no more within {Patience.TotalSeconds} s: its collecting thread has stopped.");
                Thread.Sleep(1);
            }
        }
    }

    static Experiment Experiment(string model, string optimizer) =>
        TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 1024, optimizer: optimizer) with
        {
            Model = model == "cnn"
                ? new ModelSection("cnn", new Dictionary<string, object?> { ["channels"] = new[] { 8, 16 }, ["hidden"] = 32 })
                : new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 64 }, ["dropout"] = 0.1 }),
            Optimizer = new OptimizerSection { Type = optimizer, LearningRate = optimizer == "sgd" ? 0.05 : 3e-3, Momentum = optimizer == "sgd" ? 0.9 : 0, WeightDecay = 1e-4 },
            GradientClip = 5,
            Extensions = AllBuiltIns.Select(n => new ExtensionSection(n, n == "gradient-plot"
                ? new Dictionary<string, object?> { ["every"] = 4 } : new Dictionary<string, object?>())).ToList(),
        };

    static IReadOnlyList<TrainManager.Stages.Extension> BuiltIns(Experiment experiment, RunDirectory run) =>
        TestComponents.Catalog.CreateExtensions(new ExtensionContext(run.Path, experiment),
            ComponentServices.Empty.With(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) })));
}
