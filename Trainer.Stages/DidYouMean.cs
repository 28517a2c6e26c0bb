namespace TrainManager.Stages;

/// <summary>
/// Finds the known name a mistyped one was probably meant to be, for "did you mean" hints: the one rule every error
/// message uses (experiment keys, component types and settings, data columns, stages and fixtures). It lives beside the
/// stage engine because the engine's registration errors need it and everything else references the engine.
/// </summary>
public static class DidYouMean
{
    /// <summary>
    /// The candidates close enough to <paramref name="name"/> to be a plausible typo, closest first (ties keep the
    /// candidates' order), at most <paramref name="max"/>. Close enough: an optimal string alignment distance, ignoring
    /// case and '_' versus '-', of at most a third of the name's length, and at least one edit.
    /// </summary>
    public static IReadOnlyList<string> Ranked(string name, IEnumerable<string> candidates, int max = 3)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(candidates);
        var typed = Normalize(name);
        var allowed = AllowedEdits(typed);
        return candidates
            .Select(candidate => (Candidate: candidate, Distance: Distance(typed, Normalize(candidate))))
            .Where(c => c.Distance <= allowed)
            .OrderBy(c => c.Distance)
            .Take(max)
            .Select(c => c.Candidate)
            .ToList();
    }

    /// <summary>The candidate closest to <paramref name="name"/>, or null when none is close enough (see <see cref="Ranked"/>).</summary>
    public static string? Closest(string name, IEnumerable<string> candidates) => Ranked(name, candidates, 1) is [var closest] ? closest : null;

    /// <summary>" Did you mean 'x'?" or the empty string, ready to append to a sentence.</summary>
    public static string Hint(string name, IEnumerable<string> candidates) =>
        Closest(name, candidates) is { } closest ? $" Did you mean '{closest}'?" : "";

    /// <summary>The threshold: a third of the name's length, at least one edit (so "lt" still finds "lr").</summary>
    public static int AllowedEdits(string name) => Math.Max(1, name.Length / 3);

    // Keys are kebab-case, fixtures snake_case: "batch_size" and "Batch-Size" are the same mistake as a typo, only cheaper to fix.
    static string Normalize(string name) => name.ToLowerInvariant().Replace('_', '-');

    /// <summary>Optimal string alignment distance: Levenshtein plus adjacent transpositions ("epcohs").</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        for (var j = 1; j <= b.Length; j++)
        {
            var cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }
}
