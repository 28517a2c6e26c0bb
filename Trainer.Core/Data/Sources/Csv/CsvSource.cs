using System.IO.Compression;
using System.Text.Json;
using TrainManager.Components;
using static TorchSharp.torch;

namespace TrainManager.Data.Sources.Csv;

/// <summary>
/// A table of examples in a CSV or TSV file (plain, or <c>.gz</c>): one row per example, some columns features, one the
/// label (or several, for <c>target = value</c> or <c>multi-label</c>). A plain file is read lazily: opening it checks
/// every row and remembers where each starts, and a batch reads its rows again; a <c>.gz</c> file is read into memory.
/// <para>Labels: for <c>target = class</c> whole numbers are class indices, and any other text is a class name, mapped to
/// indices in sorted order (the mapping is recorded in the run as <c>labels.json</c>); <c>value</c> gives float targets
/// [N, k] for regression, <c>multi-label</c> float targets [N, k] (0/1 per label column).</para>
/// </summary>
/// <param name="path">The training file (relative to the experiment file).</param>
/// <param name="testPath">The test file, with the same columns; or else <paramref name="testFraction"/>.</param>
/// <param name="testFraction">The share of <paramref name="path"/>'s rows kept for the test, chosen with the experiment's seed.</param>
/// <param name="header"><c>auto</c> (a first line with text where the next has numbers), <c>true</c> or <c>false</c>.</param>
/// <param name="delimiter">The field separator; by default a tab for <c>.tsv</c>/<c>.tab</c> files, else a comma. <c>tab</c> names the tab.</param>
/// <param name="label">The label column, by header name or 0-based index; by default the last column.</param>
/// <param name="labels">Several label columns (for <c>value</c> or <c>multi-label</c>).</param>
/// <param name="features">The feature columns, by name or 0-based index; by default every column that is not a label.</param>
/// <param name="target"><c>class</c> (int64 indices), <c>value</c> (float, regression) or <c>multi-label</c> (float vector).</param>
/// <param name="shape">The shape of one example's features, e.g. [1, 28, 28] for an image stored as 784 columns.</param>
/// <param name="mean">Subtracted from every feature, then divided by <paramref name="std"/>.</param>
[Component("csv", Description = "a CSV or TSV table (plain or .gz), read lazily; features and label columns by name or index")]
public sealed class CsvSource(
    DataContext context, string path, string? testPath = null, double testFraction = 0, string header = "auto",
    string? delimiter = null, string? label = null, string[]? labels = null, string[]? features = null,
    string target = "class", int[]? shape = null, double mean = 0, double std = 1) : IDataSource
{
    public DataSplits Open()
    {
        var settings = CheckSettings();
        var trainFile = Existing(path, "path");
        var testFile = testPath is null ? null : Existing(testPath, "test-path");
        var delimiterByte = Delimiter(trainFile);

        var train = CsvScanner.Scan(trainFile, delimiterByte, settings, layoutFrom: null);
        var test = testFile is null ? null : CsvScanner.Scan(testFile, delimiterByte, settings, train);
        var classes = settings.Target == CsvTarget.Class ? ClassIndices(train, test) : null;

        var trainData = Build(train, classes);
        IDataset? testData = null;
        try
        {
            testData = test is null ? null : Build(test, classes);
            if (testData is null)
            {
                var (rest, part) = DatasetSplits.Split(trainData, testFraction, context.Seed, DatasetSplits.TestSalt, "data.test-fraction");
                return new DataSplits(rest, part);
            }
            return new DataSplits(trainData, testData);
        }
        catch
        {
            (testData as IDisposable)?.Dispose();
            (trainData as IDisposable)?.Dispose();
            throw;
        }
    }

    CsvSettings CheckSettings()
    {
        var kind = target.Trim().ToLowerInvariant() switch
        {
            "class" => CsvTarget.Class,
            "value" => CsvTarget.Value,
            "multi-label" => CsvTarget.MultiLabel,
            _ => throw new DatasetInvalidException($"data.target is \"{target}\"; it must be class, value or multi-label."),
        };
        bool? hasHeader = header.Trim().ToLowerInvariant() switch
        {
            "auto" => null,
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw new DatasetInvalidException($"data.header is \"{header}\"; it must be auto, true or false."),
        };
        if (labels is { Length: > 0 } && label is not null)
            throw new DatasetInvalidException("data.label and data.labels are both set; use label for one column, labels for several.");
        if (kind == CsvTarget.Class && labels is { Length: > 1 })
            throw new DatasetInvalidException($"target = class takes one label column, but data.labels names {labels.Length}; use target = multi-label (or value) for several.");
        if (testPath is null && testFraction <= 0)
            throw new DatasetInvalidException("The csv source needs test data: set data.test-path to a file with the same columns, or data.test-fraction (e.g. 0.2) to keep part of data.path for the test.");
        if (testPath is not null && testFraction > 0)
            throw new DatasetInvalidException("data.test-path and data.test-fraction are both set; use one.");
        if (!(std > 0))
            throw new DatasetInvalidException($"data.std must be positive, but is {std}.");
        if (shape is { } s && s.Any(d => d <= 0))
            throw new DatasetInvalidException($"data.shape [{string.Join(", ", s)}] has a dimension that is not positive.");
        var labelRefs = labels is { Length: > 0 } ? labels : label is null ? null : [label];
        return new CsvSettings(hasHeader, kind, labelRefs, features is { Length: > 0 } ? features : null,
            shape?.Select(d => (long)d).ToArray(), (float)mean, (float)std);
    }

    string Existing(string file, string key)
    {
        var full = context.Resolve(file);
        return File.Exists(full) ? full
            : throw new DatasetNotFoundException($"data.{key} is '{file}', but there is no file {full}. Check the path (relative paths start at the experiment file's folder).");
    }

    byte Delimiter(string file)
    {
        if (delimiter is not null)
        {
            var d = delimiter.ToLowerInvariant() is "tab" or "\\t" ? "\t" : delimiter;
            if (d.Length != 1 || d[0] > 127 || d[0] is '"' or '\n' or '\r')
                throw new DatasetInvalidException($"data.delimiter is \"{delimiter}\"; it must be one ASCII character (or tab), not a quote or line break.");
            return (byte)d[0];
        }
        var name = file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? file[..^3] : file;
        return Path.GetExtension(name).ToLowerInvariant() is ".tsv" or ".tab" ? (byte)'\t' : (byte)',';
    }

    /// <summary>Class indices for every distinct label of both files: the numbers themselves when every label is a whole
    /// number, else the labels' places in sorted order (recorded in the run as labels.json).</summary>
    Dictionary<string, long> ClassIndices(CsvTable train, CsvTable? test)
    {
        var all = train.DistinctLabels.ToDictionary();
        if (test is not null)
            foreach (var (text, first) in test.DistinctLabels) all.TryAdd(text, first);
        if (all.Keys.All(k => CsvText.TryParseWhole(System.Text.Encoding.UTF8.GetBytes(k), out _)))
        {
            var indices = all.Keys.ToDictionary(k => k, k => long.Parse(k.Trim().TrimStart('+'), System.Globalization.CultureInfo.InvariantCulture));
            var negative = indices.FirstOrDefault(p => p.Value < 0);
            if (negative.Key is not null)
                throw new DatasetInvalidException(
                    $"{all[negative.Key]}: the label is {negative.Key}, but class labels that are numbers must be class indices, 0 or more. Use target = value for numeric targets.");
            return indices;
        }
        var sorted = all.Keys.Order(StringComparer.Ordinal).ToList();
        var json = JsonSerializer.Serialize(new { column = train.LabelNames[0], classes = sorted }, new JsonSerializerOptions { WriteIndented = true });
        context.Record("labels.json", json + "\n");
        return sorted.Select((name, index) => (name, index)).ToDictionary(p => p.name, p => (long)p.index);
    }

    static IDataset Build(CsvTable table, Dictionary<string, long>? classes)
    {
        var targets = classes is null
            ? CsvTargets.Values(table.Values.ToArray(), table.LabelNames.Length)
            : CsvTargets.Classes(table.ClassLabels.Select(id => classes[table.LabelTexts[id]]).ToArray());
        if (table.InMemoryFeatures is null)
            return new CsvDataset(table.File, table.Layout, table.Offsets.ToArray(), table.Lengths.ToArray(), table.Lines.ToArray(), targets);
        var dims = new long[table.Layout.FeatureShape.Length + 1];
        dims[0] = table.Rows;
        table.Layout.FeatureShape.CopyTo(dims, 1);
        var inputs = tensor(table.InMemoryFeatures.ToArray(), dims);
        return new TensorDataset(inputs, targets.All());
    }
}

internal enum CsvTarget { Class, Value, MultiLabel }

internal sealed record CsvSettings(bool? Header, CsvTarget Target, string[]? Labels, string[]? Features, long[]? Shape, float Mean, float Std);

/// <summary>What scanning one file found: its rows' places (plain files) or features (.gz), and the labels.</summary>
internal sealed class CsvTable(string file, CsvLayout layout, string[] labelNames, bool inMemory)
{
    public string File { get; } = file;
    public CsvLayout Layout { get; } = layout;
    public string[] LabelNames { get; } = labelNames;
    public string[]? ColumnNames { get; init; }
    public int[] LabelColumns { get; init; } = [];
    public List<long> Offsets { get; } = [];
    public List<int> Lengths { get; } = [];
    public List<long> Lines { get; } = [];
    public List<float>? InMemoryFeatures { get; } = inMemory ? [] : null;
    /// <summary>Per row, the id of its label text (class targets).</summary>
    public List<int> ClassLabels { get; } = [];
    public List<string> LabelTexts { get; } = [];
    /// <summary>Each distinct label text and where it first appears ("file, line n").</summary>
    public Dictionary<string, string> DistinctLabels { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> LabelIds { get; } = new(StringComparer.Ordinal);
    public List<float> Values { get; } = [];
    public long Rows { get; set; }
}

/// <summary>Scans a file once: finds the header, resolves the columns, checks every row and collects what the data set
/// needs. Every problem is reported with the file and line (and the column, for a value).</summary>
internal static class CsvScanner
{
    public static CsvTable Scan(string file, byte delimiter, CsvSettings settings, CsvTable? layoutFrom)
    {
        var gzip = IsGzip(file);
        using var stream = OpenStream(file, gzip);
        var fields = new List<CsvField>();
        CsvTable? table = layoutFrom is null ? null : Like(layoutFrom, file, gzip);
        byte[]? firstLine = null;
        long firstOffset = 0, firstNumber = 0;
        var decided = false;
        var numbers = new float[0];
        try
        {
            CsvLines.Read(stream, (line, offset, number) =>
            {
                if (line.Trim((byte)' ').IsEmpty) return;
                if (!decided)
                {
                    if (firstLine is null)
                    {
                        Split(file, line, number, delimiter, fields);
                        if (settings.Header is { } h)
                        {
                            decided = true;
                            Start(line, offset, number, h);
                        }
                        else
                        {
                            firstLine = line.ToArray();
                            (firstOffset, firstNumber) = (offset, number);
                        }
                        return;
                    }
                    // auto: a header has text where the row below it has numbers.
                    var first = new List<CsvField>();
                    Split(file, firstLine, firstNumber, delimiter, first);
                    Split(file, line, number, delimiter, fields);
                    var isHeader = false;
                    for (var i = 0; i < Math.Min(first.Count, fields.Count); i++)
                        if (!CsvText.IsNumber(firstLine, first[i]) && CsvText.IsNumber(line, fields[i])) isHeader = true;
                    decided = true;
                    Start(firstLine, firstOffset, firstNumber, isHeader);
                }
                Split(file, line, number, delimiter, fields);
                Row(line, offset, number);
            });
            if (!decided && firstLine is not null)
            {
                decided = true;
                Start(firstLine, firstOffset, firstNumber, header: false);
            }
        }
        catch (InvalidDataException e)
        {
            throw new DatasetInvalidException($"{file}: the gzip stream is corrupt ({e.Message}).", e);
        }
        if (table is null || table.Rows == 0)
            throw new DatasetInvalidException($"{file} has no data rows.");
        return table;

        void Start(ReadOnlySpan<byte> line, long offset, long number, bool header)
        {
            var f = new List<CsvField>();
            Split(file, line, number, delimiter, f);
            if (table is null)
            {
                table = FirstTable(file, gzip, delimiter, settings, header ? line : default, f, number);
                numbers = new float[table.Layout.FeatureCount];
            }
            else
            {
                numbers = new float[table.Layout.FeatureCount];
                if (header && layoutFrom!.ColumnNames is { } names)
                {
                    var these = new string[f.Count];
                    for (var i = 0; i < f.Count; i++) these[i] = CsvText.Text(line, f[i]);
                    if (!these.SequenceEqual(names))
                        throw new DatasetInvalidException(
                            $"{file}, line {number} (header): the columns are {string.Join(", ", these)}, but {layoutFrom.File} has {string.Join(", ", names)}; the test file needs the same columns.");
                }
            }
            if (!header)
            {
                fields.Clear();
                fields.AddRange(f);
                Row(line, offset, number);
            }
        }

        void Row(ReadOnlySpan<byte> line, long offset, long number)
        {
            var t = table!;
            var layout = t.Layout;
            if (fields.Count != layout.ColumnCount)
                throw new DatasetInvalidException(
                    $"{file}, line {number}: the row has {fields.Count} field(s), but {(t.ColumnNames is null ? "the first row" : "the header")} has {layout.ColumnCount}; every row needs the same columns (a quoted field may hold the delimiter).");
            if (!CsvRows.TryParseFeatures(line, fields, layout, numbers))
            {
                var bad = -1;
                foreach (var c in layout.FeatureColumns)
                    if (!CsvText.IsNumber(line, fields[c])) { bad = c; break; }
                throw new DatasetInvalidException(
                    $"{file}, line {number}, column {Column(t, bad)}: \"{CsvText.Text(line, fields[bad])}\" is not a number; feature columns must hold numbers (choose the features with data.features).");
            }
            if (t.InMemoryFeatures is { } memory) memory.AddRange(numbers);
            else
            {
                t.Offsets.Add(offset);
                t.Lengths.Add(line.Length);
                t.Lines.Add(number);
            }
            if (settings.Target == CsvTarget.Class)
            {
                var text = CsvText.Text(line, fields[t.LabelColumns[0]]);
                if (!t.LabelIds.TryGetValue(text, out var id))
                {
                    id = t.LabelTexts.Count;
                    t.LabelIds[text] = id;
                    t.LabelTexts.Add(text);
                    t.DistinctLabels[text] = $"{file}, line {number}, column {Column(t, t.LabelColumns[0])}";
                }
                t.ClassLabels.Add(id);
            }
            else
                foreach (var c in t.LabelColumns)
                {
                    var field = fields[c];
                    if (!CsvText.TryParseFloat(line.Slice(field.Start, field.Length), out var value))
                        throw new DatasetInvalidException(
                            $"{file}, line {number}, column {Column(t, c)}: the label \"{CsvText.Text(line, field)}\" is not a number; target = {(settings.Target == CsvTarget.Value ? "value" : "multi-label")} needs numeric labels.");
                    t.Values.Add(value);
                }
            t.Rows++;
        }
    }

    static CsvTable Like(CsvTable train, string file, bool gzip) =>
        new(file, train.Layout, train.LabelNames, gzip) { ColumnNames = train.ColumnNames, LabelColumns = train.LabelColumns };

    static CsvTable FirstTable(string file, bool gzip, byte delimiter, CsvSettings settings, ReadOnlySpan<byte> headerLine, List<CsvField> fields, long number)
    {
        var count = fields.Count;
        string[]? names = null;
        if (!headerLine.IsEmpty)
        {
            names = new string[count];
            for (var i = 0; i < count; i++) names[i] = CsvText.Text(headerLine, fields[i]);
        }
        int Resolve(string reference, string key)
        {
            if (names is not null)
            {
                var at = Array.IndexOf(names, reference.Trim());
                if (at >= 0) return at;
            }
            if (int.TryParse(reference, out var index))
                return index >= 0 && index < count ? index
                    : throw new DatasetInvalidException($"data.{key} names column index {index}, but {file} has {count} columns (indices 0..{count - 1}).");
            throw new DatasetInvalidException(names is null
                ? $"data.{key} names column '{reference}', but {file} has no header (line {number} holds data); name columns by 0-based index, or set header = true."
                : $"data.{key} names column '{reference}', but {file} (line {number}) has the columns {string.Join(", ", names)}.{Stages.DidYouMean.Hint(reference, names)}");
        }
        var labelColumns = settings.Labels is null ? [count - 1] : settings.Labels.Select(l => Resolve(l, settings.Labels.Length > 1 ? "labels" : "label")).ToArray();
        var featureColumns = settings.Features is null
            ? Enumerable.Range(0, count).Where(c => !labelColumns.Contains(c)).ToArray()
            : settings.Features.Select(f => Resolve(f, "features")).ToArray();
        if (featureColumns.Length == 0)
            throw new DatasetInvalidException($"{file} has no feature columns besides the label; it needs at least one.");
        var overlap = featureColumns.Intersect(labelColumns).ToList();
        if (overlap.Count > 0)
            throw new DatasetInvalidException($"Column {(names is null ? overlap[0].ToString() : names[overlap[0]])} of {file} is both a feature and a label; data.features must leave the label out.");
        var shape = settings.Shape ?? [featureColumns.Length];
        if (shape.Aggregate(1L, (a, d) => a * d) != featureColumns.Length)
            throw new DatasetInvalidException(
                $"data.shape [{string.Join(", ", shape)}] holds {shape.Aggregate(1L, (a, d) => a * d)} values, but {file} has {featureColumns.Length} feature columns.");
        var layout = new CsvLayout(delimiter, count, featureColumns, shape, settings.Mean, settings.Std);
        var labelNames = labelColumns.Select(c => names?[c] ?? c.ToString()).ToArray();
        return new CsvTable(file, layout, labelNames, gzip) { ColumnNames = names, LabelColumns = labelColumns };
    }

    static string Column(CsvTable table, int column) =>
        table.ColumnNames is { } names ? $"{column} ('{names[column]}')" : column.ToString();

    static void Split(string file, ReadOnlySpan<byte> line, long number, byte delimiter, List<CsvField> fields)
    {
        if (!CsvText.Split(line, delimiter, fields))
            throw new DatasetInvalidException(
                $"{file}, line {number}: a quoted field is not closed on its line; a row must be one line (fields spanning lines are not supported).");
    }

    static bool IsGzip(string file)
    {
        using var stream = File.OpenRead(file);
        return stream.ReadByte() == 0x1f && stream.ReadByte() == 0x8b;
    }

    static Stream OpenStream(string file, bool gzip)
    {
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return gzip ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }
}

internal static class CsvRows
{
    /// <summary>Parses the row's feature fields into <paramref name="into"/>, normalised.</summary>
    public static bool TryParseFeatures(ReadOnlySpan<byte> line, List<CsvField> fields, CsvLayout layout, Span<float> into)
    {
        var columns = layout.FeatureColumns;
        float mean = layout.Mean, std = layout.Std;
        var normalise = mean != 0 || std != 1;
        for (var i = 0; i < columns.Length; i++)
        {
            var field = fields[columns[i]];
            if (!CsvText.TryParseFloat(line.Slice(field.Start, field.Length), out var value)) return false;
            into[i] = normalise ? (value - mean) / std : value;
        }
        return true;
    }
}
