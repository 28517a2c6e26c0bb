namespace TrainManager.Experiments;

/// <summary>Finds the known name a mistyped one was probably meant to be, for "did you mean" hints.</summary>
public static class DidYouMean
{
    /// <summary>
    /// The candidate closest to <paramref name="name"/> by edit distance (case-insensitive), or null when none is
    /// close enough to be a plausible typo: at most a third of the name's length, and at least one edit allowed.
    /// </summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(candidates);
        var allowed = Math.Max(1, name.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(Normalize(name), Normalize(candidate));
            if (distance < bestDistance)
                (best, bestDistance) = (candidate, distance);
        }
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>" Did you mean 'x'?" or the empty string, ready to append to a sentence.</summary>
    public static string Hint(string name, IEnumerable<string> candidates) =>
        Closest(name, candidates) is { } closest ? $" Did you mean '{closest}'?" : "";

    // Keys are kebab-case; "batch_size" and "Batch-Size" are the same mistake as a typo, only cheaper to fix.
    static string Normalize(string name) => name.ToLowerInvariant().Replace('_', '-');

    /// <summary>Optimal string alignment distance: Levenshtein plus adjacent transpositions ("epcohs").</summary>
    static int Distance(string a, string b)
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
