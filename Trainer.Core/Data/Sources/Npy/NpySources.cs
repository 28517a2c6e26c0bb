using System.Runtime.InteropServices;
using System.IO.Compression;
using TrainManager.Components;
using static TorchSharp.torch;

namespace TrainManager.Data.Sources.Npy;

/// <summary>
/// Examples from two NumPy arrays with the same number of rows: inputs (any row shape, read as float32 and normalised
/// with <c>mean</c> and <c>std</c>) and targets (integer arrays give int64 class indices, float arrays float32 values).
/// Rows are read per batch.
/// </summary>
public sealed class NpyDataset : IDataset, IDisposable
{
    readonly NpyArray _inputs, _targets;
    readonly float _mean, _std;

    public NpyDataset(NpyArray inputs, NpyArray targets, double mean = 0, double std = 1)
    {
        if (inputs.Shape.Length == 0 || targets.Shape.Length == 0)
            throw new DatasetInvalidException($"{(inputs.Shape.Length == 0 ? inputs.Source : targets.Source)} holds a single value; inputs and targets need one row per example (shape (N, ...)).");
        if (inputs.Rows != targets.Rows)
            throw new DatasetInvalidException(
                $"{inputs.Source} has {inputs.Rows} rows (shape ({string.Join(", ", inputs.Shape)})) but {targets.Source} has {targets.Rows} (shape ({string.Join(", ", targets.Shape)})); inputs and targets need one row per example each.");
        if (!(std > 0)) throw new DatasetInvalidException($"data.std must be positive, but is {std}.");
        (_inputs, _targets, _mean, _std) = (inputs, targets, (float)mean, (float)std);
    }

    public long Count => _inputs.Rows;

    public Sample Get(long index) => Sample.FromBatchOf(this, index);

    public Batch GetBatch(long[] indices)
    {
        Batch.RequireIndices(indices);
        // Written straight into the tensor's memory: a batch allocates no managed array of its size (a large one each
        // batch would be a large-object-heap allocation, and their collections pause the training thread too).
        var input = empty(Dims(indices.Length, _inputs.RowShape), float32);
        try
        {
            _inputs.ReadNormalized(indices, MemoryMarshal.Cast<byte, float>(input.bytes), _mean, _std);
            var target = _targets.IsInteger
                ? tensor(_targets.ReadLongs(indices), Dims(indices.Length, _targets.RowShape))
                : tensor(_targets.ReadFloats(indices), Dims(indices.Length, _targets.RowShape));
            return new Batch(input, target);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    static long[] Dims(long rows, long[] rowShape) => [rows, .. rowShape];

    public void Dispose()
    {
        _inputs.Dispose();
        _targets.Dispose();
    }
}

/// <summary>
/// NumPy <c>.npy</c> files: <c>inputs</c> and <c>targets</c> (and <c>test-inputs</c>, <c>test-targets</c>, or
/// <c>test-fraction</c>), read lazily by offset, so files larger than memory work.
/// </summary>
[Component("npy", Description = "NumPy .npy files of inputs and targets, read lazily by row")]
public sealed class NpySource(
    DataContext context, string inputs, string targets, string? testInputs = null, string? testTargets = null,
    double testFraction = 0, double mean = 0, double std = 1) : IDataSource
{
    public DataSplits Open()
    {
        NpySplits.CheckTest(testInputs, testTargets, testFraction);
        var train = Load(inputs, targets, "inputs", "targets");
        try
        {
            var test = testInputs is null ? null : Load(testInputs, testTargets!, "test-inputs", "test-targets");
            return NpySplits.Make(train, test, testFraction, context.Seed);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    NpyDataset Load(string inputsPath, string targetsPath, string inputsKey, string targetsKey)
    {
        var x = NpyArray.Open(NpySplits.Existing(context, inputsPath, inputsKey));
        try
        {
            var y = NpyArray.Open(NpySplits.Existing(context, targetsPath, targetsKey));
            try
            {
                return new NpyDataset(x, y, mean, std);
            }
            catch
            {
                y.Dispose();
                throw;
            }
        }
        catch
        {
            x.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A NumPy <c>.npz</c> archive (from <c>numpy.savez</c> or <c>savez_compressed</c>) holding the arrays named by
/// <c>inputs</c> and <c>targets</c> (and <c>test-inputs</c>, <c>test-targets</c>, or <c>test-fraction</c>). The arrays
/// are read into memory (an archive's entries may be compressed); rows are converted per batch.
/// </summary>
[Component("npz", Description = "a NumPy .npz archive with input and target arrays")]
public sealed class NpzSource(
    DataContext context, string path, string inputs = "inputs", string targets = "targets", string? testInputs = null,
    string? testTargets = null, double testFraction = 0, double mean = 0, double std = 1) : IDataSource
{
    public DataSplits Open()
    {
        NpySplits.CheckTest(testInputs, testTargets, testFraction);
        var file = NpySplits.Existing(context, path, "path");
        ZipArchive archive;
        try
        {
            archive = ZipFile.OpenRead(file);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetInvalidException($"{file} is not a NumPy .npz archive (not a zip file: {e.Message}); write it with numpy.savez.", e);
        }
        using (archive)
        {
            var train = new NpyDataset(Array(archive, file, inputs, "inputs"), Array(archive, file, targets, "targets"), mean, std);
            var test = testInputs is null ? null
                : new NpyDataset(Array(archive, file, testInputs, "test-inputs"), Array(archive, file, testTargets!, "test-targets"), mean, std);
            return NpySplits.Make(train, test, testFraction, context.Seed);
        }
    }

    static NpyArray Array(ZipArchive archive, string file, string name, string key)
    {
        var entry = archive.GetEntry(name + ".npy") ?? archive.GetEntry(name);
        if (entry is null)
        {
            var names = archive.Entries.Select(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal) ? e.FullName[..^4] : e.FullName).ToList();
            throw new DatasetInvalidException(
                $"data.{key} names array '{name}', but {file} holds {string.Join(", ", names)}.{Stages.DidYouMean.Hint(name, names)}");
        }
        using var stream = entry.Open();
        var bytes = new byte[entry.Length];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DatasetInvalidException($"{file}:{entry.FullName} cannot be read ({e.Message}); the archive is damaged.", e);
        }
        return NpyArray.FromBytes(bytes, $"{file}:{entry.FullName}");
    }
}

internal static class NpySplits
{
    public static void CheckTest(string? testInputs, string? testTargets, double testFraction)
    {
        if ((testInputs is null) != (testTargets is null))
            throw new DatasetInvalidException("Set both data.test-inputs and data.test-targets, or neither (and data.test-fraction).");
        if (testInputs is null && testFraction <= 0)
            throw new DatasetInvalidException("The source needs test data: set data.test-inputs and data.test-targets, or data.test-fraction (e.g. 0.2).");
        if (testInputs is not null && testFraction > 0)
            throw new DatasetInvalidException("data.test-inputs and data.test-fraction are both set; use one.");
    }

    public static string Existing(DataContext context, string file, string key)
    {
        var full = context.Resolve(file);
        return File.Exists(full) ? full
            : throw new DatasetNotFoundException($"data.{key} is '{file}', but there is no file {full}. Check the path (relative paths start at the experiment file's folder).");
    }

    public static DataSplits Make(NpyDataset train, NpyDataset? test, double testFraction, long seed)
    {
        if (test is not null) return new DataSplits(train, test);
        var (rest, part) = DatasetSplits.Split(train, testFraction, seed, DatasetSplits.TestSalt, "data.test-fraction");
        return new DataSplits(rest, part);
    }
}
