using System.Text.Json;

namespace TrainManager.Extensions.Report;

/// <summary>
/// Reads <c>metrics/epochs.jsonl</c> as the trainer's metrics log writes it: one JSON object per line with
/// <c>epoch</c> and numbers (null for a value that was not finite). A resumed run appends to the same file, so it
/// holds the epochs from before the resume too.
/// </summary>
public static class EpochMetricsFile
{
    public static IReadOnlyList<EpochMetrics> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var rows = new SortedDictionary<int, EpochMetrics>();
        // The trainer may still hold the file open for appending; share it rather than ask for exclusive reading.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var json = JsonDocument.Parse(line);
                if (!json.RootElement.TryGetProperty("epoch", out var epochElement) || !epochElement.TryGetInt32(out var epoch)) continue;
                var values = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var property in json.RootElement.EnumerateObject())
                {
                    if (property.Name == "epoch") continue;
                    values[property.Name] = property.Value.ValueKind == JsonValueKind.Number ? property.Value.GetDouble() : double.NaN;
                }
                // A resume repeats no epoch, but if a line appears twice the later one is the newer record.
                rows[epoch] = new EpochMetrics(epoch, values);
            }
            catch (JsonException)
            {
                // A line cut short by a crash mid-write is the only expected damage; the rest of the file still counts.
            }
        }
        return rows.Values.ToArray();
    }
}
