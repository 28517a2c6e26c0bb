using System.Globalization;
using System.Reflection;
using TrainManager.Data;
using TrainManager.Data.Prefetch;
using TrainManager.Data.Sources;
using TrainManager.Data.Sources.Csv;
using TrainManager.Data.Sources.Images;
using TrainManager.Data.Sources.Npy;
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
    /// <summary>The built-in sources by name (until the component catalog builds sources).</summary>
    static readonly IReadOnlyDictionary<string, Type> BuiltIns = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        ["fashion-mnist"] = typeof(FashionMnistSource),
        ["mnist-idx"] = typeof(MnistIdxSource),
        ["csv"] = typeof(CsvSource),
        ["image-folder"] = typeof(ImageFolderSource),
        ["npy"] = typeof(NpySource),
        ["npz"] = typeof(NpzSource),
    };

    /// <summary>The splits of <paramref name="experiment"/>'s data, ready for a trainer of rank <paramref name="rank"/> of
    /// <paramref name="worldSize"/>: the training split read ahead in the order that trainer visits it.</summary>
    public static DataSplits Open(Experiment experiment, RunDirectory? run = null, int rank = 0, int worldSize = 1)
    {
        var source = Create(experiment.Data, DataContext.For(experiment, run?.Path));
        return Open(source, experiment.Data, experiment.Seed, new TrainingOrder(experiment.BatchSize, experiment.Epochs, rank, worldSize));
    }

    /// <summary>
    /// Opens <paramref name="source"/> and applies <paramref name="data"/>'s common settings: <c>train-limit</c> and
    /// <c>test-limit</c> (the first N), <c>validation</c> (a fraction of the limited training split, chosen with
    /// <paramref name="seed"/>, disjoint from what is trained on), and <c>prefetch</c> (splits that are not held in
    /// memory are read ahead on a background thread: the training split in <paramref name="order"/>'s order when it is
    /// given, the others in evaluation's order).
    /// </summary>
    public static DataSplits Open(IDataSource source, DataSection data, long seed = 42, TrainingOrder? order = null)
    {
        var splits = source.Open();
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

    /// <summary>Builds the built-in source <paramref name="data"/> names, its settings bound to its constructor.</summary>
    /// <exception cref="DatasetInvalidException">An unknown type, an unknown or missing setting, or a value of the wrong kind.</exception>
    public static IDataSource Create(DataSection data, DataContext context)
    {
        if (!BuiltIns.TryGetValue(data.Type, out var type))
            throw new DatasetNotFoundException(
                $"Unknown data type '{data.Type}'.{DidYouMean.Hint(data.Type, BuiltIns.Keys.ToList())} Known: {string.Join(", ", BuiltIns.Keys)}.");
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var parameters = constructor.GetParameters();
        var settings = parameters.Where(p => p.ParameterType != typeof(DataContext)).ToDictionary(p => Kebab(p.Name!), p => p);
        foreach (var key in data.Settings.Keys)
            if (!settings.ContainsKey(key))
                throw new DatasetInvalidException(
                    $"Data type '{data.Type}' has no setting '{key}'.{DidYouMean.Hint(key, settings.Keys.Concat(CommonKeys).ToList())} " +
                    $"Its settings: {string.Join(", ", settings.Keys)}; every type also takes {string.Join(", ", CommonKeys)}.");
        var arguments = parameters.Select(p =>
        {
            if (p.ParameterType == typeof(DataContext)) return context;
            var key = Kebab(p.Name!);
            if (data.Settings.TryGetValue(key, out var value)) return Convert(value, p.ParameterType, data.Type, key);
            if (p.HasDefaultValue) return p.DefaultValue;
            throw new DatasetInvalidException($"Data type '{data.Type}' needs data.{key}.");
        }).ToArray();
        try
        {
            return (IDataSource)constructor.Invoke(arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    static readonly string[] CommonKeys = ["train-limit", "test-limit", "validation", "prefetch"];

    static string Kebab(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

    static object? Convert(object? value, Type type, string source, string key)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null) return null;
        if (target.IsArray)
        {
            var items = value is System.Collections.IEnumerable list and not string ? list.Cast<object?>().ToList() : [value];
            var element = target.GetElementType()!;
            var array = Array.CreateInstance(element, items.Count);
            for (var i = 0; i < items.Count; i++) array.SetValue(Convert(items[i], element, source, $"{key}[{i}]"), i);
            return array;
        }
        try
        {
            if (target == typeof(string)) return value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value.ToString();
            if (target == typeof(int)) return checked((int)(long)value);
            if (target == typeof(long)) return (long)value;
            if (target == typeof(double)) return System.Convert.ToDouble(value, CultureInfo.InvariantCulture);
            if (target == typeof(bool)) return (bool)value;
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException or FormatException)
        {
        }
        throw new DatasetInvalidException($"data.{key} of data type '{source}' must be {Describe(target)}, but is \"{value}\".");
    }

    static string Describe(Type type) =>
        type == typeof(int) || type == typeof(long) ? "a whole number" : type == typeof(double) ? "a number" : type == typeof(bool) ? "true or false" : "text";
}
