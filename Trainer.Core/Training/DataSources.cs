using System.Globalization;
using System.Reflection;
using TrainManager.Data;
using TrainManager.Data.Prefetch;
using TrainManager.Data.Sources;
using TrainManager.Data.Sources.Csv;
using TrainManager.Data.Sources.Images;
using TrainManager.Data.Sources.Npy;
using TrainManager.Components;
using TrainManager.Experiments;

namespace TrainManager.Training;

/// <summary>How the trainer visits the training split, so its batches can be read ahead in that order.</summary>
/// <param name="Epochs">The run's epochs: reading ahead goes on across epochs up to the last one.</param>
public sealed record TrainingOrder(int BatchSize, int Epochs, int Rank = 0, int WorldSize = 1);

/// <summary>
/// Opens an experiment's data: builds the source its data section names, then applies what every source shares
/// (limits, the validation split, reading ahead).
/// </summary>
public static class DataSources
{
    /// <summary>The splits of <paramref name="experiment"/>'s data, ready for a trainer of rank <paramref name="rank"/> of
    /// <paramref name="worldSize"/>: the training split read ahead in the order that trainer visits it.</summary>
    /// <param name="dataRoots">The folders data may be read from (a cluster node's data roots); null: any.</param>
    /// <param name="expectedData">The fingerprint of the data the run was submitted with: the source's files are
    /// fingerprinted once it has opened (before anything is read ahead) and refused when they differ; null: no check.</param>
    /// <exception cref="DatasetMismatchException">The data here differs from <paramref name="expectedData"/>.</exception>
    public static DataSplits Open(Experiment experiment, ComponentCatalog catalog, RunDirectory? run = null, int rank = 0, int worldSize = 1,
        IReadOnlyList<string>? dataRoots = null, DatasetFingerprint? expectedData = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var reads = new DataReadLog();
        var source = catalog.CreateDataSource(experiment.Data, DataContext.For(experiment, run?.Path) with { DataRoots = dataRoots, Reads = reads });
        var opened = source.Open();
        if (expectedData is not null)
        {
            try
            {
                DatasetFingerprint.Check(expectedData, DatasetFingerprint.Of(source, reads));
            }
            catch
            {
                opened.Dispose();
                throw;
            }
        }
        return Prepare(opened, experiment.Data, experiment.Seed, new TrainingOrder(experiment.BatchSize, experiment.Epochs, rank, worldSize));
    }

    /// <summary>
    /// Opens <paramref name="source"/> and applies <paramref name="data"/>'s common settings: <c>train-limit</c> and
    /// <c>test-limit</c> (the first N), <c>validation</c> (a fraction of the limited training split, chosen with
    /// <paramref name="seed"/>, disjoint from what is trained on), and <c>prefetch</c> (splits that are not held in
    /// memory are read ahead on a background thread: the training split in <paramref name="order"/>'s order when it is
    /// given, the others in evaluation's order).
    /// </summary>
    public static DataSplits Open(IDataSource source, DataSection data, long seed = 42, TrainingOrder? order = null) =>
        Prepare(source.Open(), data, seed, order);

    /// <summary>What <see cref="Open(IDataSource, DataSection, long, TrainingOrder?)"/> does once the source has opened;
    /// takes over <paramref name="splits"/> (disposed when this throws).</summary>
    static DataSplits Prepare(DataSplits splits, DataSection data, long seed, TrainingOrder? order)
    {
        IDataset train = splits.Train, test = splits.Test;
        var validation = splits.Validation;
        try
        {
            train = DatasetSplits.First(train, data.TrainLimit);
            test = DatasetSplits.First(test, data.TestLimit);
            if (data.Validation > 0)
            {
                if (validation is not null)
                    throw new DatasetInvalidException(
                        $"Data type '{data.Type}' brings its own validation split, and data.validation = {data.Validation} asks for another; remove data.validation.");
                (train, validation) = DatasetSplits.Split(train, data.Validation, seed, DatasetSplits.ValidationSalt, "data.validation");
            }
            if (data.Prefetch > 0)
            {
                if (order is not null && ReadsLazily(train))
                    train = new PrefetchingDataset(train,
                        new SamplerBatchPlan(new EpochSampler(train.Count, order.BatchSize, seed, rank: order.Rank, worldSize: order.WorldSize), order.Epochs),
                        data.Prefetch);
                if (ReadsLazily(test)) test = new PrefetchingDataset(test, new SequentialBatchPlan(test.Count), data.Prefetch);
                if (validation is not null && ReadsLazily(validation))
                    validation = new PrefetchingDataset(validation, new SequentialBatchPlan(validation.Count), data.Prefetch);
            }
            return new DataSplits(train, test, validation);
        }
        catch
        {
            new DataSplits(train, test, validation).Dispose();
            throw;
        }
    }

    /// <summary>Data held in tensors gains nothing from reading ahead: a batch is one memory copy.</summary>
    static bool ReadsLazily(IDataset data) => data is not TensorDataset;
}
