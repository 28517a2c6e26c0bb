using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrainManager.Runtime;

namespace TrainManager.Checkpoints;

/// <summary>
/// Which checkpoint of a run scored best on the metric the experiment's <c>checkpoint.best</c> names: a small
/// <c>best.json</c> beside the checkpoints, which <c>checkpoint.keep</c> never deletes the target of and which
/// <c>trainmanager eval</c> reads. A pointer rather than a copy: the checkpoint is written once.
/// </summary>
/// <param name="File">The checkpoint's file name, in the same folder (so the run directory can move).</param>
/// <param name="Metric">The epoch metric it won on, e.g. <c>val_accuracy</c>.</param>
/// <param name="Mode"><c>max</c> or <c>min</c>.</param>
/// <param name="Epoch">The epoch it was written after, counted from 1.</param>
public sealed record BestCheckpoint(string File, string Metric, string Mode, double Value, int Epoch)
{
    public const string FileName = "best.json";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The checkpoint's path in <paramref name="checkpointDirectory"/>.</summary>
    public string PathIn(string checkpointDirectory) => Path.Combine(checkpointDirectory, File);

    public void Write(string checkpointDirectory) =>
        AtomicFile.Write(Path.Combine(checkpointDirectory, FileName), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this, Json)));

    /// <summary>The pointer in <paramref name="checkpointDirectory"/>, or null when there is none, it cannot be read,
    /// or the checkpoint it names is gone.</summary>
    public static BestCheckpoint? Read(string checkpointDirectory)
    {
        var path = Path.Combine(checkpointDirectory, FileName);
        if (!System.IO.File.Exists(path)) return null;
        try
        {
            var best = JsonSerializer.Deserialize<BestCheckpoint>(System.IO.File.ReadAllText(path), Json);
            return best is not null && Path.GetFileName(best.File) == best.File && System.IO.File.Exists(best.PathIn(checkpointDirectory)) ? best : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
