using System.Globalization;
using System.Net;
using System.Text;

namespace TrainManager.Extensions.Report;

/// <summary>
/// The HTML of <c>report.html</c>: one self-contained page (inline CSS, no scripts, fonts or other outside resources)
/// with the run's key facts, its metrics per epoch, its pictures and links to its files, all by paths relative to the
/// run directory so the folder can be moved or copied whole. Every value from the run is HTML-encoded.
/// </summary>
public static partial class RunReportPage
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Columns with a heading of their own and where they go: the training loss first, the run's pace last;
    /// the evaluated splits' metrics come between, in the trainer's order.</summary>
    private static readonly (string Key, string Heading)[] FirstColumns = [("train_loss", "train loss")];
    private static readonly (string Key, string Heading)[] LastColumns =
    [
        ("lr", "learning rate"),
        ("samples_per_second", "samples / s"),
        ("epoch_seconds", "epoch time"),
    ];

    public static string Render(RunFacts facts, RunDirectoryContents contents, DateTimeOffset generated)
    {
        var title = facts.ExperimentName ?? contents.ExperimentName ?? facts.RunId;
        var html = new StringBuilder(8192);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(Encode(title)).Append(" · ").Append(Encode(facts.RunId)).Append("</title>\n")
            .Append("<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");

        html.Append("<header>\n<h1>").Append(Encode(title)).Append("</h1>\n")
            .Append("<p class=\"run-id\">run <code>").Append(Encode(facts.RunId)).Append("</code></p>\n")
            .Append("<p class=\"status ").Append(facts.Outcome.ToString().ToLowerInvariant()).Append("\">")
            .Append(Encode(Status(facts))).Append("</p>\n</header>\n");

        AppendFacts(html, facts, contents);
        var epochs = contents.EpochMetrics.Count > 0 ? contents.EpochMetrics : facts.Epochs;
        AppendMetrics(html, epochs, facts.BestMetric, facts.BestMode);
        AppendPictures(html, "Loss", contents.Pictures.Where(p => p.StartsWith("plots/loss-", StringComparison.Ordinal)));
        AppendPictures(html, "Gradients", contents.Pictures.Where(p => p.StartsWith("plots/gradients-", StringComparison.Ordinal)));
        AppendPictures(html, "Other pictures", contents.Pictures.Where(p =>
            !p.StartsWith("plots/loss-", StringComparison.Ordinal) && !p.StartsWith("plots/gradients-", StringComparison.Ordinal)));
        AppendFiles(html, contents.Files);

        html.Append("<footer>Written by Train Manager on ")
            .Append(Encode(generated.ToString("yyyy-MM-dd HH:mm:ss zzz", Invariant)))
            .Append(". Paths are relative to this folder.</footer>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Status(RunFacts facts)
    {
        var epochs = facts.CompletedEpochs is { } done
            ? facts.PlannedEpochs is { } planned ? $"{done} of {planned} epochs" : $"{done} epochs"
            : null;
        return facts.Outcome switch
        {
            RunOutcome.Completed => $"Completed{(epochs is null ? "" : $": {epochs}")}.",
            RunOutcome.Stopped => $"Stopped{(epochs is null ? "" : $" after {epochs}")}: {facts.StopReason}.",
            RunOutcome.Failed => $"Failed in stage {facts.FailedStage}: {facts.FailureMessage}",
            _ => "Running, or ended without reaching the end of the fit.",
        };
    }

    private static void AppendFacts(StringBuilder html, RunFacts facts, RunDirectoryContents contents)
    {
        // The run id is under the title already.
        var rows = new List<(string Term, string Html)>();
        if ((facts.ExperimentName ?? contents.ExperimentName) is { } name) rows.Add(("experiment", Encode(name)));
        if (facts.Model is { } model) rows.Add(("model", $"<code>{Encode(model)}</code>"));
        if (facts.ParameterCount is { } count) rows.Add(("parameters", count.ToString("N0", Invariant)));
        if (facts.CompletedEpochs is not null || facts.PlannedEpochs is not null)
            rows.Add(("epochs", $"{facts.CompletedEpochs?.ToString(Invariant) ?? "?"} done of {facts.PlannedEpochs?.ToString(Invariant) ?? "?"} planned"));
        if (facts.BatchSize is { } batch) rows.Add(("batch size", batch.ToString(Invariant)));
        if (facts.Seed is { } seed) rows.Add(("seed", seed.ToString(Invariant)));
        if (facts.Device is { } device) rows.Add(("device", Encode(device)));
        if (contents.Bundle is { } bundle)
            rows.Add(("code bundle", $"<code>{Encode(bundle.Project)}</code> bundle <code title=\"sha256 {Encode(bundle.Hash)}\">{Encode(bundle.ShortHash)}</code>" +
                                     (bundle.Commit is { } commit ? $", commit <code>{Encode(commit)}</code>" : ", not from a git repository") +
                                     $", framework {Encode(bundle.FrameworkVersion)}"));
        if (facts.WorldSize > 1) rows.Add(("data-parallel workers", facts.WorldSize.ToString(Invariant)));
        if (facts.Duration is { } duration) rows.Add(("duration", Encode(Duration(duration))));
        foreach (var (key, value) in facts.FinalMetrics)
            if (double.IsFinite(value)) rows.Add(($"final {Heading(key)}", Metric(key, value)));
        if (facts.LastCheckpoint is { } checkpoint) rows.Add(("last checkpoint", Link(Relative(facts.RunDirectory, checkpoint))));
        if (facts.BestCheckpoint is { } best)
            rows.Add(($"best checkpoint ({facts.BestMode} {Heading(facts.BestMetric ?? "")})", Link(Relative(facts.RunDirectory, best))));

        html.Append("<section>\n<h2>Key facts</h2>\n<dl class=\"facts\">\n");
        foreach (var (term, value) in rows) html.Append("<dt>").Append(Encode(term)).Append("</dt><dd>").Append(value).Append("</dd>\n");
        html.Append("</dl>\n</section>\n");
    }

    private static void AppendMetrics(StringBuilder html, IReadOnlyList<EpochMetrics> epochs, string? bestMetric, string? bestMode)
    {
        html.Append("<section>\n<h2>Metrics per epoch</h2>\n");
        if (epochs.Count == 0)
        {
            html.Append("<p class=\"empty\">No epoch finished.</p>\n</section>\n");
            return;
        }
        var keys = epochs.SelectMany(e => e.Values.Keys).Distinct(StringComparer.Ordinal).ToList();
        var named = FirstColumns.Concat(LastColumns).Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        var columns = FirstColumns.Where(c => keys.Contains(c.Key))
            .Concat(keys.Where(k => !named.Contains(k)).Select(k => (Key: k, Heading: Heading(k))))
            .Concat(LastColumns.Where(c => keys.Contains(c.Key)))
            .ToList();
        var best = BestEpoch(epochs, bestMetric, bestMode);
        var bestText = best is null ? "" : $"{(bestMode == "min" ? "lowest" : "highest")} {Heading(bestMetric!)}";

        html.Append("<table>\n<thead><tr><th>epoch</th>");
        foreach (var column in columns) html.Append("<th>").Append(Encode(column.Heading)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var epoch in epochs)
        {
            html.Append(epoch.Epoch == best ? $"<tr class=\"best\" title=\"{Encode(bestText)}\">" : "<tr>")
                .Append("<td>").Append(epoch.Epoch.ToString(Invariant)).Append("</td>");
            foreach (var column in columns)
                html.Append("<td>").Append(Metric(column.Key, epoch.Values.GetValueOrDefault(column.Key, double.NaN))).Append("</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        if (best is not null) html.Append("<p class=\"note\">The highlighted row has the ").Append(Encode(bestText)).Append(", which the best checkpoint follows.</p>\n");
        html.Append("</section>\n");
    }

    /// <summary>The epoch with the best <paramref name="metric"/> (<c>max</c> or <c>min</c> by <paramref name="mode"/>);
    /// the first of equals, as the trainer keeps the first checkpoint that reached a value.</summary>
    internal static int? BestEpoch(IReadOnlyList<EpochMetrics> epochs, string? metric, string? mode)
    {
        if (metric is null) return null;
        var scored = epochs.Where(e => double.IsFinite(e.Values.GetValueOrDefault(metric, double.NaN))).ToList();
        if (scored.Count == 0) return null;
        var sign = mode == "min" ? -1 : 1;
        return scored.Aggregate((best, e) => sign * e.Values[metric] > sign * best.Values[metric] ? e : best).Epoch;
    }

    private static string Heading(string key) => key switch
    {
        _ when FirstColumns.Concat(LastColumns).FirstOrDefault(c => c.Key == key) is { Heading: { } heading } => heading,
        _ when key.StartsWith("val_", StringComparison.Ordinal) => "validation " + key[4..].Replace('_', ' '),
        _ => key.Replace('_', ' '),
    };

    private static void AppendPictures(StringBuilder html, string heading, IEnumerable<string> pictures)
    {
        var list = pictures.ToList();
        if (list.Count == 0) return;
        html.Append("<section>\n<h2>").Append(Encode(heading)).Append("</h2>\n");
        foreach (var picture in list)
        {
            var href = Href(picture);
            var name = Path.GetFileNameWithoutExtension(picture);
            html.Append("<figure><a href=\"").Append(href).Append("\"><img src=\"").Append(href)
                .Append("\" alt=\"").Append(Encode(name)).Append("\" loading=\"lazy\"></a><figcaption>")
                .Append(Encode(Path.GetFileName(picture))).Append("</figcaption></figure>\n");
        }
        html.Append("</section>\n");
    }

    private static void AppendFiles(StringBuilder html, IReadOnlyList<RunFile> files)
    {
        html.Append("<section>\n<h2>Files</h2>\n");
        if (files.Count == 0)
        {
            html.Append("<p class=\"empty\">The run directory holds no other files yet.</p>\n</section>\n");
            return;
        }
        html.Append("<ul class=\"files\">\n");
        foreach (var file in files)
            html.Append("<li>").Append(Link(file.RelativePath)).Append(" — ").Append(Encode(file.Description)).Append("</li>\n");
        html.Append("</ul>\n</section>\n");
    }

    private static string Metric(string key, double value)
    {
        if (!double.IsFinite(value)) return "<span class=\"na\">—</span>";
        if (key.Contains("accuracy", StringComparison.Ordinal) || TopK().IsMatch(key)) return Percent(value);
        if (key is "lr" or "learning_rate") return value.ToString("0.###e+0", Invariant);
        if (key is "samples_per_second") return value.ToString("N0", Invariant);
        if (key.EndsWith("seconds", StringComparison.Ordinal)) return Encode(Duration(TimeSpan.FromSeconds(value)));
        return Number(value);
    }

    private static string Number(double value) =>
        Math.Abs(value) is >= 1e-3 and < 1e6 or 0 ? value.ToString("0.####", Invariant) : value.ToString("0.###e+0", Invariant);

    private static string Percent(double fraction) => (fraction * 100).ToString("0.00", Invariant) + " %";

    private static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds} s"
        : t.TotalSeconds >= 1 ? $"{t.TotalSeconds.ToString("0.0", Invariant)} s"
        : $"{t.TotalMilliseconds.ToString("0", Invariant)} ms";

    private static string Relative(string runDirectory, string path) =>
        Path.IsPathRooted(path) ? Path.GetRelativePath(runDirectory, path).Replace('\\', '/') : path;

    private static string Link(string relativePath) =>
        $"<a href=\"{Href(relativePath)}\"><code>{Encode(relativePath)}</code></a>";

    /// <summary>A relative URL: each path segment escaped, the slashes kept (and a trailing one, for folders).</summary>
    private static string Href(string relativePath) =>
        Encode(string.Join('/', relativePath.Split('/').Select(Uri.EscapeDataString)));

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A top-k accuracy (<c>val_top5</c>), shown as a percentage like accuracy.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(^|_)top\d+$")]
    private static partial System.Text.RegularExpressions.Regex TopK();

    private const string Css = """

        :root { color-scheme: light; --ink: #1d2433; --muted: #5b6475; --line: #dde1e8; --accent: #1f77b4; --bad: #b3261e; --warn: #a15c00; --good: #1e7b34; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #f6f7f9; }
        main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; min-height: 100vh; }
        h1 { margin: 0 0 4px; font-size: 28px; }
        h2 { margin: 32px 0 12px; font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
        code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
        .run-id { margin: 0; color: var(--muted); }
        .status { display: inline-block; margin: 12px 0 0; padding: 4px 10px; border-radius: 4px; font-weight: 600; }
        .status.completed { background: #e6f4ea; color: var(--good); }
        .status.stopped, .status.running { background: #fff4e0; color: var(--warn); }
        .status.failed { background: #fce8e6; color: var(--bad); }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 24px; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 12px; text-align: right; border-bottom: 1px solid var(--line); }
        th { font-weight: 600; background: #f0f2f5; }
        tbody tr:nth-child(even) { background: #fafbfc; }
        tr.best { background: #e6f4ea !important; font-weight: 600; }
        .na, .note, .empty, footer { color: var(--muted); }
        figure { margin: 0 0 24px; }
        figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
        figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
        ul.files { padding-left: 20px; }
        a { color: var(--accent); }
        footer { margin-top: 40px; font-size: 13px; }

        """;
}
