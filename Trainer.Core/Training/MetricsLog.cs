using System.Globalization;
using System.Text;

namespace TrainManager.Training;

/// <summary>
/// Per-batch and per-epoch metrics as JSON lines (<c>metrics/batches.jsonl</c>, <c>metrics/epochs.jsonl</c>),
/// which pandas, jq and spreadsheets read; epochs are numbered from 1. A fit with a validation split also writes its
/// final test metrics to <c>metrics/test.json</c>. Buffered: a batch record costs a few hundred nanoseconds; a timer writes the
/// buffered batches out every <see cref="DefaultFlushInterval"/>, so a process that dies mid-epoch loses seconds of them, not
/// the epoch, and someone tailing the file sees it move.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(2);

    private readonly StreamWriter _batches;
    private readonly Lock _batchesLock = new();
    private readonly Timer _flushTimer;
    private bool _unflushed;
    private bool _disposed;
    private readonly StreamWriter _epochs;
    private readonly string _directory;
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private readonly StringBuilder _line = new(256);

    public MetricsLog(string directory, bool append, TimeSpan? flushInterval = null)
    {
        var interval = flushInterval ?? DefaultFlushInterval;
        Directory.CreateDirectory(directory);
        _directory = directory;
        _batches = new StreamWriter(Path.Combine(directory, "batches.jsonl"), append, Utf8NoBom, 1 << 16);
        _epochs = new StreamWriter(Path.Combine(directory, "epochs.jsonl"), append, Utf8NoBom, 1 << 12) { AutoFlush = true };
        _flushTimer = new Timer(_ => FlushBatches(), null, interval, interval);
    }

    public void Batch(int epoch, int batch, long step, double loss, double learningRate)
    {
        _line.Clear()
            .Append("{\"epoch\":").Append(epoch)
            .Append(",\"batch\":").Append(batch)
            .Append(",\"step\":").Append(step)
            .Append(",\"loss\":").Append(Number(loss))
            .Append(",\"lr\":").Append(Number(learningRate)).Append('}');
        lock (_batchesLock)
        {
            _batches.WriteLine(_line);
            _unflushed = true;
        }
    }

    /// <summary>Writes the buffered batch records to the file (the timer's work; also at each epoch's end).</summary>
    public void FlushBatches()
    {
        lock (_batchesLock)
        {
            if (!_unflushed || _disposed)
                return;
            _batches.Flush();
            _unflushed = false;
        }
    }

    public void Epoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        _line.Clear().Append("{\"epoch\":").Append(epoch);
        foreach (var (key, value) in metrics) _line.Append(",\"").Append(key).Append("\":").Append(Number(value));
        _line.Append('}');
        _epochs.WriteLine(_line);
        FlushBatches();
    }

    /// <summary>Writes the test split's metrics, evaluated once at the end of a fit that had a validation split.</summary>
    public void Test(IReadOnlyDictionary<string, double> metrics)
    {
        _line.Clear().Append('{');
        foreach (var (key, value) in metrics) _line.Append(_line.Length > 1 ? ",\"" : "\"").Append(key).Append("\":").Append(Number(value));
        _line.Append('}');
        File.WriteAllText(Path.Combine(_directory, "test.json"), _line.Append('\n').ToString(), Utf8NoBom);
    }

    private static string Number(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";

    public void Dispose()
    {
        _flushTimer.Dispose();
        lock (_batchesLock)
        {
            _disposed = true;
            _batches.Dispose();
        }
        _epochs.Dispose();
    }
}
