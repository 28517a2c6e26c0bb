using System.Globalization;
using System.Text;

namespace TrainManager.Training;

/// <summary>
/// Per-batch and per-epoch metrics as JSON lines (<c>metrics/batches.jsonl</c>, <c>metrics/epochs.jsonl</c>),
/// which pandas, jq and spreadsheets read. Buffered: a batch record costs a few hundred nanoseconds.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _batches;
    private readonly StreamWriter _epochs;
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private readonly StringBuilder _line = new(256);

    public MetricsLog(string directory, bool append)
    {
        Directory.CreateDirectory(directory);
        _batches = new StreamWriter(Path.Combine(directory, "batches.jsonl"), append, Utf8NoBom, 1 << 16);
        _epochs = new StreamWriter(Path.Combine(directory, "epochs.jsonl"), append, Utf8NoBom, 1 << 12) { AutoFlush = true };
    }

    public void Batch(int epoch, int batch, long step, double loss, double learningRate)
    {
        _line.Clear()
            .Append("{\"epoch\":").Append(epoch)
            .Append(",\"batch\":").Append(batch)
            .Append(",\"step\":").Append(step)
            .Append(",\"loss\":").Append(Number(loss))
            .Append(",\"lr\":").Append(Number(learningRate)).Append('}');
        _batches.WriteLine(_line);
    }

    public void Epoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        _line.Clear().Append("{\"epoch\":").Append(epoch);
        foreach (var (key, value) in metrics) _line.Append(",\"").Append(key).Append("\":").Append(Number(value));
        _line.Append('}');
        _epochs.WriteLine(_line);
        _batches.Flush();
    }

    private static string Number(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";

    public void Dispose()
    {
        _batches.Dispose();
        _epochs.Dispose();
    }
}
