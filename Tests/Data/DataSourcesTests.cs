using TrainManager.Data;
using TrainManager.Data.Prefetch;
using TrainManager.Data.Sources.Csv;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Testing;
using TrainManager.Tests.Training;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Data;

/// <summary>A source over an <see cref="IndexDataset"/>, for what <see cref="DataSources.Open(IDataSource, DataSection, long, TrainingOrder?)"/> adds.</summary>
internal sealed class IndexSource(long train, long test) : IDataSource
{
    public DataSplits Open() => new(new IndexDataset(train), new IndexDataset(test));
}

public sealed class DataSourcesTests
{
    static long[] All(IDataset data)
    {
        using var batch = data.GetBatch(Enumerable.Range(0, (int)data.Count).Select(i => (long)i).ToArray());
        return batch.Target.data<long>().ToArray();
    }

    [Fact]
    public void The_validation_split_is_disjoint_from_training_and_covers_the_rest()
    {
        using var splits = DataSources.Open(new IndexSource(100, 10), new DataSection { Type = "x", Validation = 0.1, Prefetch = 0 }, seed: 11);

        var train = All(splits.Train);
        var validation = All(splits.Validation!);

        Assert.Equal(90, train.Length);
        Assert.Equal(10, validation.Length);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), train.Concat(validation).Order());
    }

    [Fact]
    public void The_validation_split_depends_only_on_the_seed()
    {
        long[] Validation(long seed)
        {
            using var splits = DataSources.Open(new IndexSource(100, 10), new DataSection { Type = "x", Validation = 0.2, Prefetch = 0 }, seed);
            return All(splits.Validation!);
        }

        Assert.Equal(Validation(1), Validation(1));
        Assert.NotEqual(Validation(1), Validation(2));
    }

    [Fact]
    public void Data_held_in_tensors_is_split_into_copies_that_own_their_tensors()
    {
        var source = new TensorSource();
        using var splits = DataSources.Open(source, new DataSection { Type = "x", Validation = 0.25 }, seed: 3);

        Assert.IsType<TensorDataset>(splits.Train);
        Assert.IsType<TensorDataset>(splits.Validation);
        var rows = All(splits.Train).Concat(All(splits.Validation!)).Order();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), rows);
    }

    sealed class TensorSource : IDataSource
    {
        public DataSplits Open() =>
            new(new TensorDataset(arange(8, ScalarType.Float32).reshape(8, 1), arange(8, ScalarType.Int64)),
                new TensorDataset(zeros(2, 1), zeros(2, ScalarType.Int64)));
    }

    [Fact]
    public void Limits_take_the_first_examples_before_validation_is_split_off()
    {
        using var splits = DataSources.Open(new IndexSource(100, 50), new DataSection { Type = "x", TrainLimit = 20, TestLimit = 5, Validation = 0.5, Prefetch = 0 });

        Assert.Equal(10, splits.Train.Count);
        Assert.All(All(splits.Validation!), i => Assert.InRange(i, 0, 19));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, All(splits.Test));
    }

    [Fact]
    public void Lazily_read_splits_are_read_ahead_in_the_trainers_order()
    {
        using var splits = DataSources.Open(new IndexSource(64, 16), new DataSection { Type = "x", Prefetch = 3 }, seed: 5, new TrainingOrder(8, Epochs: 2));
        var sampler = new EpochSampler(64, 8, seed: 5);

        foreach (var indices in sampler.Batches(0).Concat(sampler.Batches(1)))
        {
            using var batch = splits.Train.GetBatch(indices);
            Assert.Equal(indices, batch.Target.data<long>().ToArray());
        }

        var train = Assert.IsType<PrefetchingDataset>(splits.Train);
        Assert.Equal(1, train.BatchesReadOnDemand);
        Assert.IsType<PrefetchingDataset>(splits.Test);
    }

    [Fact]
    public void A_built_in_source_is_built_from_the_data_sections_settings()
    {
        var data = new DataSection
        {
            Type = "csv",
            Settings = new Dictionary<string, object?> { ["path"] = "t.csv", ["test-fraction"] = 0.5, ["features"] = new List<object?> { 0L, "b" }, ["shape"] = new List<object?> { 2L } },
        };

        var source = TestComponents.Catalog.CreateDataSource(data, new DataContext("."));

        Assert.IsType<CsvSource>(source);
    }

    [Fact]
    public void An_unknown_setting_of_a_source_is_refused_with_a_suggestion()
    {
        var data = new DataSection { Type = "csv", Settings = new Dictionary<string, object?> { ["path"] = "t.csv", ["lable"] = "y" } };

        var error = Assert.Throws<ExperimentException>(() => TestComponents.Catalog.CreateDataSource(data, new DataContext(".")));

        Assert.Contains("unknown setting 'lable' (did you mean 'label'?)", error.Message);
        Assert.Equal("data.lable", error.KeyPath);
    }

    [Fact]
    public void Paths_outside_the_data_roots_are_refused()
    {
        var context = new DataContext("/work/experiments", DataRoots: ["/data"]);

        Assert.Equal("/data/x.csv", context.Resolve("/data/x.csv"));
        Assert.Throws<DatasetNotFoundException>(() => context.Resolve("../secrets.csv"));
    }
}

public sealed class DataSectionReadingTests
{
    static Experiment Parse(string data) =>
        ExperimentLoader.Parse($"epochs = 1\nbatch-size = 8\nmodel {{ type = mlp }}\n{data}\n", "exp.hocon");

    [Fact]
    public void The_older_dataset_key_still_names_the_type()
    {
        Assert.Equal("fashion-mnist", Parse("data { dataset = fashion-mnist }").Data.Type);
    }

    [Fact]
    public void A_sources_own_keys_become_its_settings_and_the_common_keys_do_not()
    {
        var data = Parse("data { type = csv, path = \"/d/train.csv\", label = species, shape = [1, 28, 28], validation = 0.1, prefetch = 4, train-limit = 9 }").Data;

        Assert.Equal("csv", data.Type);
        Assert.Equal(new[] { "label", "path", "shape" }, data.Settings.Keys.Order());
        Assert.Equal("species", data.Settings["label"]);
        Assert.Equal(0.1, data.Validation);
        Assert.Equal(4, data.Prefetch);
        Assert.Equal(9, data.TrainLimit);
    }

    [Fact]
    public void A_validation_fraction_of_one_or_more_is_refused()
    {
        var error = Assert.Throws<ExperimentException>(() => Parse("data { type = csv, validation = 1 }"));

        Assert.Equal("data.validation", error.KeyPath);
    }

    [Fact]
    public void The_resolved_experiment_reads_back_to_the_same_data_section()
    {
        var data = Parse("data { type = csv, path = \"/d/train.csv\", shape = [1, 2], validation = 0.25, prefetch = 0 }");

        var again = ExperimentLoader.Parse(ExperimentHoconWriter.Render(data), "again.hocon");

        Assert.Equal(data.Data, again.Data);
    }
}

/// <summary>A trainer on a lazily read source, read ahead: its fits own every tensor, also when stopped mid-epoch.</summary>
[Collection(GarbageCollectionStressCollection.Name)]
public sealed class TrainingOnLazyDataTests
{
    static Experiment Experiment(string dir, int epochs = 2) => new()
    {
        Name = "npy-lazy",
        Seed = 4,
        Epochs = epochs,
        BatchSize = 16,
        Threads = 1,
        Model = new ModelSection("mlp", new Dictionary<string, object?> { ["input"] = 4, ["hidden"] = new[] { 8 }, ["classes"] = 2 }),
        Data = new DataSection
        {
            Type = "npy",
            Settings = new Dictionary<string, object?> { ["inputs"] = Path.Combine(dir, "x.npy"), ["targets"] = Path.Combine(dir, "y.npy"), ["test-fraction"] = 0.25 },
            Validation = 0.1,
        },
        Checkpoint = new CheckpointSection { EveryEpochs = 1, Keep = 1 },
        RunsDirectory = Path.Combine(dir, "runs"),
        ResolvedHocon = "name = npy-lazy\n",
    };

    static string WriteData()
    {
        var dir = TestDirectory.Create("npy-train");
        var random = new Random(1);
        var x = Enumerable.Range(0, 200 * 4).Select(_ => (float)random.NextDouble()).ToArray();
        var y = Enumerable.Range(0, 200).Select(i => x[i * 4] > 0.5 ? 1L : 0L).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "x.npy"), DataFiles.Npy("<f4", [200, 4], x));
        File.WriteAllBytes(Path.Combine(dir, "y.npy"), DataFiles.Npy("<i8", [200], y));
        return dir;
    }

    sealed class StopAtBatch(int batch) : Extension
    {
        public void PostBatch(int batchIndex, StageControl control)
        {
            if (batchIndex == batch) control.StopRoutine("test stops early");
        }
    }

    [Fact]
    public void A_fit_on_prefetched_lazy_data_leaves_no_tensor_to_the_finalizer()
    {
        var experiment = Experiment(WriteData());
        var run = RunDirectory.Create(experiment);
        var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, []);
        // Watched from here: building a model leaves a few initialisation temporaries to the finalizer, which is not this test's business.
        using var watch = NativeFinalizations.Watch();

        using (trainer)
            trainer.Fit();

        Assert.Equal(new FinalizedNativeObjects(0, 0), watch.Stop());
    }

    [Fact]
    public void A_fit_stopped_mid_epoch_disposes_what_was_read_ahead()
    {
        var experiment = Experiment(WriteData(), epochs: 3);
        var run = RunDirectory.Create(experiment);
        var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, run, [new StopAtBatch(2)]);
        using var watch = NativeFinalizations.Watch();

        using (trainer)
            trainer.Fit();

        Assert.Equal(new FinalizedNativeObjects(0, 0), watch.Stop());
    }
}
