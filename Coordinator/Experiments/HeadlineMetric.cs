using System.Globalization;

namespace TrainManager.Coordinator.Experiments;

/// <summary>
/// How a run's metrics read in one line (status lists, run events, the CLI's tables): whatever the task reports, not a
/// fixed accuracy. Keys are the trainer's: <c>train_loss</c>, <c>val_&lt;metric&gt;</c>, <c>test_&lt;metric&gt;</c>.
/// </summary>
public static class HeadlineMetric
{
    /// <summary>The one metric a status line shows: the task's first metric on the test split (a finished run's final
    /// evaluation), else on the validation split; a loss only when the task reports nothing else. Null when there is none.</summary>
    public static (string Key, double Value)? Of(IReadOnlyDictionary<string, double>? metrics)
    {
        if (metrics is null) return null;
        foreach (var prefix in new[] { "test_", "val_" })
        {
            var finite = metrics.Where(m => m.Key.StartsWith(prefix, StringComparison.Ordinal) && !double.IsNaN(m.Value)).ToList();
            if (finite.FirstOrDefault(m => !m.Key.EndsWith("_loss", StringComparison.Ordinal)) is { Key: not null } metric)
                return (metric.Key, metric.Value);
            if (finite.Count > 0) return (finite[0].Key, finite[0].Value);
        }
        return null;
    }

    /// <summary>"test accuracy 87.00%", "val r2 0.9123", "train loss 0.4321"; "-" for a value not measured.</summary>
    public static string Text(string key, double value) => $"{Label(key)} {Value(key, value)}";

    /// <summary>The key as words: <c>val_f1-macro</c> → <c>val f1-macro</c>.</summary>
    public static string Label(string key) => key.Replace('_', ' ');

    /// <summary>A value as people read it: accuracies (top-k too) in percent, other metrics with four decimals.</summary>
    public static string Value(string key, double value) =>
        double.IsNaN(value) ? "-"
        : IsFraction(key) ? (value * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%"
        : value.ToString("0.0000", CultureInfo.InvariantCulture);

    static bool IsFraction(string key)
    {
        var name = key[(key.IndexOf('_') + 1)..];
        return name.EndsWith("accuracy", StringComparison.Ordinal) ||
               (name.StartsWith("top", StringComparison.Ordinal) && name.Length > 3 && name[3..].All(char.IsAsciiDigit));
    }
}
