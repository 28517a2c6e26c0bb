using TrainManager.Coordinator.Experiments;
using System.Globalization;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary>How a run's history reads in <c>logs</c>: one line per journal event, in words.</summary>
public static class RunEventText
{
    public static string Line(IExperimentEvent e) =>
        $"{e.At.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {Describe(e)}";

    public static string Describe(IExperimentEvent e) => e switch
    {
        ExperimentSubmitted s =>
            $"submitted {(s.ProvenBy is { } proven ? $"with {proven} (says {s.SubmittedFrom})" : $"by {s.SubmittedFrom}")}: {s.Name}, {s.Epochs} epochs on {s.Device}{Workers(s.WorkerGroup)}; code {s.Provenance.Description}" +
            (s.Bundle is { } bundle ? $"; trains with {bundle}" : "") +
            (s.Data is { } data ? $"; data {data.Describe()}" : "") +
            (s.ResumeFrom is { } from ? $"; starts from {from.Path}" : ""),
        ExperimentScheduled { Ranks.Count: > 1 } s =>
            $"scheduled on {s.Ranks.Count} workers (attempt {s.Attempt}): " + string.Join(", ", s.Ranks.Select((slot, rank) => $"rank {rank} {slot}")),
        ExperimentScheduled s => $"scheduled on {s.Slot} (attempt {s.Attempt})",
        WorkerLost w => $"lost rank {w.Rank} ({w.Slot}): {w.Reason}",
        ExperimentStarted s =>
            $"started in {s.RunDirectory}" + (s.ResumedFrom is { } from ? $", resuming from {from.Path} (after epoch {from.Epoch + 1}, step {from.Step})" : ", from scratch") +
            string.Concat(s.RejectedCheckpoints.Select(r => $"; refused {r.Path}: {r.Reason}" + (r.KeptAs is null ? "" : $" (kept as {r.KeptAs})"))),
        EpochCompleted c => $"epoch {c.Epoch + 1}: {Metrics(c.Metrics)}",
        CheckpointSaved c => $"checkpoint after epoch {c.Checkpoint.Epoch + 1}, step {c.Checkpoint.Step}: {c.Checkpoint.Path} (sha256 {c.Checkpoint.Sha256[..Math.Min(16, c.Checkpoint.Sha256.Length)]})",
        ExperimentFinished f => $"finished after {f.Outcome.Epochs} epochs in {Duration(f.Outcome.Elapsed)}" +
                                (f.Outcome.StopReason is { } why ? $" (stopped early: {why})" : "") + $": {Outcome(f.Outcome)}",
        ExperimentFailed f => $"FAILED: {f.Reason}" + (f.ErrorFile is { } file ? $" (full error: {file})" : ""),
        ExperimentCancelled c => $"cancelled: {c.Reason}",
        ExperimentRequeued r => $"back in the queue: {r.Reason}",
        _ => e.GetType().Name,
    };

    static string Workers(WorkerGroupSpec group) => group.Workers == 1 ? ""
        : group.MinWorkers == group.Workers ? $" with {group.Workers} workers"
        : $" with {group.Workers} workers (at least {group.MinWorkers})";

    public static string Metrics(IReadOnlyDictionary<string, double> metrics) => string.Join(", ", metrics.Select(m => m.Key switch
    {
        "samples_per_second" => $"{Number(m.Value, "N0")} samples/s",
        "epoch_seconds" => $"{Number(m.Value, "0.0")} s",
        "lr" => $"lr {Number(m.Value, "G4")}",
        _ => HeadlineMetric.Text(m.Key, m.Value),
    }));

    static string Outcome(TrainingOutcome o) => string.Join(", ", o.FinalMetrics.Select(m => HeadlineMetric.Text(m.Key, m.Value)));

    public static string Percent(double value) => double.IsNaN(value) ? "-" : Number(value * 100, "0.00") + "%";

    public static string Number(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan elapsed) => TrainCommand.Duration(elapsed);
}
