using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace TrainManager.Data.Sources.Csv;

/// <summary>How a file's rows become examples: which fields are features, how they are shaped and normalised.</summary>
internal sealed record CsvLayout(byte Delimiter, int ColumnCount, int[] FeatureColumns, long[] FeatureShape, float Mean, float Std)
{
    public int FeatureCount => FeatureColumns.Length;
}

/// <summary>
/// The rows of a plain CSV file read lazily: opening it indexed each row's place in the file (and checked every row),
/// and a batch reads just its rows again. The targets are few and held in memory. Safe to read from several threads.
/// </summary>
internal sealed class CsvDataset : IDataset, IDisposable
{
    readonly string _file;
    readonly SafeFileHandle _handle;
    readonly CsvLayout _layout;
    readonly long[] _offsets;
    readonly int[] _lengths;
    readonly long[] _lines;
    readonly CsvTargets _targets;

    public CsvDataset(string file, CsvLayout layout, long[] offsets, int[] lengths, long[] lines, CsvTargets targets)
    {
        (_file, _layout, _offsets, _lengths, _lines, _targets) = (file, layout, offsets, lengths, lines, targets);
        _handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
    }

    public long Count => _offsets.LongLength;

    public Sample Get(long index) => Sample.FromBatchOf(this, index);

    public Batch GetBatch(long[] indices)
    {
        Batch.RequireIndices(indices);
        var dims = new long[_layout.FeatureShape.Length + 1];
        dims[0] = indices.Length;
        _layout.FeatureShape.CopyTo(dims, 1);
        // Parsed straight into the tensor's memory: a batch allocates no managed array of its size (a large one each batch
        // would be a large-object-heap allocation, and their collections pause the training thread too).
        var input = empty(dims, float32);
        try
        {
            ParseRows(indices, MemoryMarshal.Cast<byte, float>(input.bytes));
            return new Batch(input, _targets.Gather(indices));
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    void ParseRows(long[] indices, Span<float> features)
    {
        var fields = new List<CsvField>(_layout.ColumnCount);
        var buffer = new byte[4096];
        for (var i = 0; i < indices.Length; i++)
        {
            var row = indices[i];
            if (row < 0 || row >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), row, $"The data set has {Count} examples (indices 0..{Count - 1}).");
            var length = _lengths[row];
            if (buffer.Length < length) buffer = new byte[Math.Max(length, buffer.Length * 2)];
            var line = buffer.AsSpan(0, length);
            if (RandomAccess.Read(_handle, line, _offsets[row]) != length || !CsvText.Split(line, _layout.Delimiter, fields)
                || fields.Count != _layout.ColumnCount
                || !CsvRows.TryParseFeatures(line, fields, _layout, features.Slice(i * _layout.FeatureCount, _layout.FeatureCount)))
                throw new DatasetInvalidException(
                    $"{_file}, line {_lines[row]}: the row no longer reads as it did when the data was opened; the file changed during the run. Restore it, or start the run again.");
        }
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>Targets held in memory: class indices, or float values (one or several per row).</summary>
internal sealed class CsvTargets
{
    readonly long[]? _classes;
    readonly float[]? _values;
    readonly int _width;

    CsvTargets(long[]? classes, float[]? values, int width) => (_classes, _values, _width) = (classes, values, width);

    public static CsvTargets Classes(long[] classes) => new(classes, null, 1);
    public static CsvTargets Values(float[] values, int width) => new(null, values, width);

    public long Count => _classes?.LongLength ?? _values!.LongLength / _width;

    public Tensor Gather(long[] indices)
    {
        if (_classes is not null)
        {
            var picked = new long[indices.Length];
            for (var i = 0; i < indices.Length; i++) picked[i] = _classes[indices[i]];
            return tensor(picked, [indices.Length]);
        }
        var values = new float[indices.Length * _width];
        for (var i = 0; i < indices.Length; i++) _values.AsSpan((int)(indices[i] * _width), _width).CopyTo(values.AsSpan(i * _width, _width));
        return tensor(values, [indices.Length, _width]);
    }

    /// <summary>All of them as one tensor (for data held in memory).</summary>
    public Tensor All() => _classes is not null ? tensor(_classes, [_classes.LongLength]) : tensor(_values!, [Count, _width]);
}
