using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TrainManager.Experiments;

/// <summary>
/// Renders an <see cref="Experiment"/> as HOCON with every default spelled out, so a run directory records exactly
/// what ran and a person can read it. Loading the text again gives an equal experiment.
/// </summary>
public static partial class ExperimentHoconWriter
{
    public static string Render(Experiment experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var w = new StringBuilder();
        w.AppendLine("# The resolved experiment: the file with its --set overrides applied and every default filled in.");
        if (experiment.SourceFile is { } source)
            w.AppendLine($"# Source: {OneLine(source)}");
        foreach (var (key, value) in experiment.Overrides)
            w.AppendLine($"{OverridePrefix}{OneLine(key)}={OneLine(value)}");
        w.AppendLine();

        Field(w, 0, "name", experiment.Name);
        Field(w, 0, "seed", experiment.Seed);
        Field(w, 0, "device", experiment.Device);
        Field(w, 0, "epochs", experiment.Epochs);
        Field(w, 0, "batch-size", experiment.BatchSize);
        if (experiment.EvalBatchSize is { } evalBatchSize)
            Field(w, 0, "eval-batch-size", evalBatchSize);
        Field(w, 0, "threads", experiment.Threads);
        w.AppendLine();

        if (experiment.Code is { } code)
        {
            Open(w, 0, "code");
            Field(w, 1, "project", code.Project);
            Close(w, 0);
        }

        Open(w, 0, "model");
        Field(w, 1, "type", experiment.Model.Type);
        Open(w, 1, "args");
        foreach (var (key, value) in experiment.Model.Arguments)
            Field(w, 2, key, value);
        Close(w, 1);
        Close(w, 0);

        Open(w, 0, "data");
        Field(w, 1, "type", experiment.Data.Type);
        foreach (var (key, value) in experiment.Data.Settings)
            Field(w, 1, key, value);
        Field(w, 1, "train-limit", experiment.Data.TrainLimit);
        Field(w, 1, "test-limit", experiment.Data.TestLimit);
        Field(w, 1, "validation", experiment.Data.Validation);
        Field(w, 1, "prefetch", experiment.Data.Prefetch);
        Close(w, 0);

        var task = experiment.Task;
        Open(w, 0, "task");
        Field(w, 1, "type", task.Type);
        Field(w, 1, "metrics", task.Metrics);
        foreach (var (key, value) in task.Settings)
            Field(w, 1, key, value);
        Close(w, 0);

        var optimizer = experiment.Optimizer;
        Open(w, 0, "optimizer");
        Field(w, 1, "type", optimizer.Type);
        Field(w, 1, "lr", optimizer.LearningRate);
        Field(w, 1, "momentum", optimizer.Momentum);
        Field(w, 1, "nesterov", optimizer.Nesterov);
        Field(w, 1, "weight-decay", optimizer.WeightDecay);
        Field(w, 1, "beta1", optimizer.Beta1);
        Field(w, 1, "beta2", optimizer.Beta2);
        Close(w, 0);

        var scheduler = experiment.Scheduler;
        Open(w, 0, "scheduler");
        Field(w, 1, "type", scheduler.Type);
        Field(w, 1, "step-size", scheduler.StepSize);
        Field(w, 1, "gamma", scheduler.Gamma);
        Field(w, 1, "t-max", scheduler.TMax);
        Field(w, 1, "min-lr", scheduler.MinLearningRate);
        Close(w, 0);

        Field(w, 0, "gradient-clip", experiment.GradientClip);
        Field(w, 0, "accumulate", experiment.Accumulate);
        Open(w, 0, "checkpoint");
        Field(w, 1, "every-epochs", experiment.Checkpoint.EveryEpochs);
        Field(w, 1, "keep", experiment.Checkpoint.Keep);
        if (experiment.Checkpoint.Best is { } best)
            Field(w, 1, "best", best);
        if (experiment.Checkpoint.BestMode is { } bestMode)
            Field(w, 1, "best-mode", bestMode);
        Close(w, 0);

        if (experiment.Extensions.Count == 0)
            w.AppendLine("extensions = []");
        else
        {
            w.AppendLine("extensions = [");
            foreach (var extension in experiment.Extensions)
            {
                var settings = extension.Settings.Select(s => $", {Key(s.Key)} = {Value(s.Value)}");
                w.AppendLine($"  {{ type = {Value(extension.Type)}{string.Concat(settings)} }}");
            }
            w.AppendLine("]");
        }
        Field(w, 0, "workers", experiment.Workers);
        var dataParallel = experiment.DataParallel;
        Open(w, 0, "data-parallel");
        Field(w, 1, "min-workers", dataParallel.MinWorkers);
        Literal(w, 1, "replacement-wait", Duration(dataParallel.ReplacementWait));
        Literal(w, 1, "bucket-size", ByteSize(dataParallel.BucketBytes));
        Literal(w, 1, "timeout", Duration(dataParallel.Timeout));
        Field(w, 1, "transport", dataParallel.Transport);
        Close(w, 0);
        Field(w, 0, "runs-dir", experiment.RunsDirectory);
        return w.ToString();
    }

    /// <summary>
    /// The text a run records for <paramref name="experiment"/>: its resolved HOCON when it was loaded from text, or the
    /// rendering of the record when it was built in code (which has none), so every run directory can be loaded again.
    /// </summary>
    public static string TextOf(Experiment experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return string.IsNullOrWhiteSpace(experiment.ResolvedHocon) ? Render(experiment) : experiment.ResolvedHocon;
    }

    /// <summary>
    /// The overrides a rendered text records in its header (<c># Override: --set key=value</c>), in order: reading a
    /// recorded experiment back (as a worker does with a submitted one) keeps what it was overridden with.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> RecordedOverrides(string hocon)
    {
        ArgumentNullException.ThrowIfNull(hocon);
        var overrides = new List<KeyValuePair<string, string>>();
        foreach (var line in hocon.Split('\n').Select(l => l.TrimEnd('\r')).TakeWhile(l => l.StartsWith('#')))
        {
            if (!line.StartsWith(OverridePrefix, StringComparison.Ordinal))
                continue;
            var assignment = line[OverridePrefix.Length..];
            var equals = assignment.IndexOf('=');
            if (equals > 0)
                overrides.Add(new(assignment[..equals], assignment[(equals + 1)..]));
        }
        return overrides;
    }

    const string OverridePrefix = "# Override: --set ";

    /// <summary>A value as HOCON: quoted text, numbers that keep their kind (2.0 stays a double), lists.</summary>
    public static string Value(object? value) => value switch
    {
        null => "null",
        string text => Quote(text),
        bool flag => flag ? "true" : "false",
        double number => Number(number),
        float number => Number(number),
        decimal number => number.ToString(CultureInfo.InvariantCulture),
        IFormattable whole when value is int or long or short or byte or uint or ulong or ushort or sbyte =>
            whole.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Value)) + "]",
        _ => throw new ArgumentException(
            $"{value} ({value.GetType().Name}) has no HOCON form; experiment values are numbers, booleans, text or lists of those."),
    };

    /// <summary>Double-quoted, with JSON escapes, so any text survives the round trip.</summary>
    public static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return quoted.Append('"').ToString();
    }

    /// <summary>
    /// A duration as HOCON that reads back to the same ticks: <c>60s</c>, <c>500ms</c>, or nanoseconds for what is finer
    /// (HOCON has no tick unit, and Akka rounds <c>ns</c> to the nearest tick where it truncates fractional seconds).
    /// </summary>
    public static string Duration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
            throw new ArgumentException($"{duration} cannot be written to an experiment file; durations there are 0 or longer.");
        var ticks = duration.Ticks;
        if (ticks % TimeSpan.TicksPerSecond == 0)
            return FormattableString.Invariant($"{ticks / TimeSpan.TicksPerSecond}s");
        if (ticks % TimeSpan.TicksPerMillisecond == 0)
            return FormattableString.Invariant($"{ticks / TimeSpan.TicksPerMillisecond}ms");
        return FormattableString.Invariant($"{(Int128)ticks * NanosecondsPerTick}ns");
    }

    const int NanosecondsPerTick = 100;

    /// <summary>A size as HOCON: <c>4MiB</c>, <c>512KiB</c>, or a plain number of bytes when no binary unit divides it.</summary>
    public static string ByteSize(long bytes)
    {
        foreach (var (unit, factor) in BinaryUnits)
            if (bytes != 0 && bytes % factor == 0)
                return FormattableString.Invariant($"{bytes / factor}{unit}");
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    static readonly (string Unit, long Factor)[] BinaryUnits = [("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10)];

    static string Number(double number)
    {
        if (!double.IsFinite(number))
            throw new ArgumentException($"{number} cannot be written to an experiment file; only finite numbers can.");
        var text = number.ToString("R", CultureInfo.InvariantCulture).Replace("E+", "E", StringComparison.Ordinal);
        // A whole double written as "2" would load back as an integer; keep the decimal point.
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    static string Key(string key) => BareKey().IsMatch(key) ? key : Quote(key);

    static void Field(StringBuilder w, int depth, string key, object? value) => Literal(w, depth, key, Value(value));

    /// <summary>A key with HOCON text written as is (a duration or size, which quotes would not harm but would hide).</summary>
    static void Literal(StringBuilder w, int depth, string key, string hocon) =>
        w.Append(' ', depth * 2).Append(Key(key)).Append(" = ").AppendLine(hocon);

    static void Open(StringBuilder w, int depth, string key) => w.Append(' ', depth * 2).Append(Key(key)).AppendLine(" {");

    static void Close(StringBuilder w, int depth) => w.Append(' ', depth * 2).AppendLine("}");

    static string OneLine(string text) => text.ReplaceLineEndings(" ");

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex BareKey();
}
