using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace TrainManager.Experiments;

/// <summary>
/// Loads an <see cref="Experiment"/> from a HOCON file with <c>--set key=value</c> overrides applied on top, in order.
/// Every problem is an <see cref="ExperimentException"/> naming the file and line (or the override), the key, and
/// what to do. The result carries <see cref="Experiment.ResolvedHocon"/>: the experiment with every default spelled
/// out, which loads back to an equal experiment.
/// </summary>
/// <remarks>
/// A relative <c>data.path</c> or <c>code.project</c> written in the file is relative to the file's folder (so an experiment and its data
/// can move together); one given with <c>--set</c> is relative to the current directory, like any command-line path.
/// <c>runs-dir</c> stays relative to the current directory, where a person looks for <c>runs/</c>.
/// </remarks>
public static partial class ExperimentLoader
{
    /// <summary>Loads <paramref name="path"/>, applies <paramref name="overrides"/> (each <c>key=value</c>), and validates.</summary>
    /// <param name="components">The components that exist; when given, an unknown <c>extensions[i].type</c> or task, or a
    /// metric the task does not have, is refused here, with its line, rather than when the run starts, and the task's
    /// defaults are spelled out in <see cref="Experiment.ResolvedHocon"/>.</param>
    public static Experiment Load(string path, IEnumerable<string>? overrides = null, Components.ComponentCatalog? components = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new ExperimentException($"'{path}' is a folder; pass an experiment file (.hocon), e.g. examples/fashion-mnist-cnn.hocon.");
        if (!File.Exists(fullPath))
            throw new ExperimentException(
                $"experiment file '{path}' not found (looked for {fullPath}). Check the path; example experiments are in examples/, e.g. examples/fashion-mnist-cnn.hocon.");
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExperimentException($"cannot read experiment file '{path}': {e.Message}", inner: e);
        }
        return Build(text, path, fullPath, Path.GetDirectoryName(fullPath), overrides, components);
    }

    /// <summary>
    /// Loads an experiment from HOCON text; <paramref name="sourceName"/> names it in errors and becomes
    /// <see cref="Experiment.SourceFile"/>. Relative paths are kept as written.
    /// </summary>
    public static Experiment Parse(string hoconText, string? sourceName = null, IEnumerable<string>? overrides = null,
        Components.ComponentCatalog? components = null)
    {
        ArgumentNullException.ThrowIfNull(hoconText);
        return Build(hoconText, sourceName, sourceName, null, overrides, components);
    }

    /// <summary>Splits <c>key=value</c> (the text of one <c>--set</c>) and checks the key's form; <c>key:=value</c> is the replacing form.</summary>
    public static KeyValuePair<string, string> ParseOverride(string assignment) => ParseAssignment(assignment).Assignment;

    /// <summary>
    /// One <c>--set</c>: <c>key=value</c> merges a block into the block already there (HOCON's rule, so
    /// <c>--set model.args={}</c> changes nothing); <c>key:=value</c> replaces the whole entry.
    /// </summary>
    static (KeyValuePair<string, string> Assignment, bool Replaces) ParseAssignment(string assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        var equals = assignment.IndexOf('=');
        if (equals < 0)
            throw new ExperimentException(
                "an override is written key=value (e.g. --set epochs=5 or --set model.args.hidden=[64]); this one has no '='.",
                OverrideOrigin(assignment));
        var replaces = equals > 0 && assignment[equals - 1] == ':';
        var key = assignment[..(replaces ? equals - 1 : equals)].Trim();
        if (!OverrideKey().IsMatch(key))
            throw new ExperimentException(
                $"'{key}' is not a key path; write dotted kebab-case keys, e.g. --set optimizer.lr=0.01.", OverrideOrigin(assignment), keyPath: key);
        return (new(key, assignment[(equals + 1)..].Trim()), replaces);
    }

    static Experiment Build(string text, string? origin, string? sourceFile, string? baseDirectory,
        IEnumerable<string>? overrides, Components.ComponentCatalog? components)
    {
        var label = origin ?? "experiment text";
        var locator = HoconLocator.Scan(text);
        if (locator.SyntaxError is { } syntax)
            throw new ExperimentException($"this is not valid HOCON: {syntax.Message}", label, syntax.Line);
        var includes = new HoconIncludes();
        var config = ParseHocon(includes.Rewrite(text, locator, label, baseDirectory), label, includes.Resolve);

        var applied = new List<KeyValuePair<string, string>>();
        var setsDataPath = false;
        var setsProject = false;
        foreach (var assignment in overrides ?? [])
        {
            var ((key, value), replaces) = ParseAssignment(assignment);
            var fragment = $"{key} = {AsHoconValue(value)}";
            var written = replaces ? $"{key}:={value}" : $"{key}={value}";
            var where = OverrideOrigin(written);
            if (HoconLocator.Scan(fragment).SyntaxError is { } error)
                throw new ExperimentException($"the value is not valid HOCON: {error.Message}", where, keyPath: key);
            var parsed = ParseHocon(fragment, where);
            setsDataPath |= parsed.HasPath("data.path");
            setsProject |= parsed.HasPath("code.project");
            config = replaces ? Replace(config, key, parsed) : parsed.WithFallback(config);
            // A replacement is recorded as written (key ending in ':'), so the recorded command line means the same.
            applied.Add(new(replaces ? key + ":" : key, value));
        }

        (string? Origin, int? Line) Locate(string keyPath)
        {
            // The last override that set this key (or a block holding it) is what the run would have used.
            for (var i = applied.Count - 1; i >= 0; i--)
                if (Covers(applied[i].Key, keyPath))
                    return (FromOverride(i), null);
            if (locator.LineOf(keyPath) is { } line)
                return (label, line);
            if (includes.Locate(keyPath) is { } included)
                return included;
            // A block the file lacks was introduced by an override of a key inside it (--set optimiser.lr=1).
            for (var i = applied.Count - 1; i >= 0; i--)
                if (Covers(keyPath, applied[i].Key))
                    return (FromOverride(i), null);
            return (label, locator.NearestDefined(keyPath)?.Line);
        }

        string FromOverride(int index) => OverrideOrigin($"{applied[index].Key}={applied[index].Value}");

        var defaultName = sourceFile is null ? "experiment" : Path.GetFileNameWithoutExtension(sourceFile);
        var experiment = new ExperimentReader(config.Root.GetObject(), Locate, defaultName, components).Read();

        if (baseDirectory is not null && experiment.Data.Path is { } dataPath && !Path.IsPathRooted(dataPath))
        {
            var resolved = Path.GetFullPath(setsDataPath ? dataPath : Path.Combine(baseDirectory, dataPath));
            experiment = experiment with { Data = experiment.Data with { Path = resolved } };
        }

        if (baseDirectory is not null && experiment.Code is { } code && !Path.IsPathRooted(code.Project))
            experiment = experiment with { Code = new CodeSection(Path.GetFullPath(setsProject ? code.Project : Path.Combine(baseDirectory, code.Project))) };

        experiment = experiment with { SourceFile = sourceFile, Overrides = applied };
        return experiment with { ResolvedHocon = ExperimentHoconWriter.Render(experiment) };
    }

    /// <summary><paramref name="config"/> with the entry at <paramref name="key"/> replaced by the one <paramref name="fragment"/>
    /// sets, blocks included: nothing of the old block is kept.</summary>
    static Config Replace(Config config, string key, Config fragment)
    {
        var root = config.Root;
        var parent = root.GetObject();
        var segments = key.Split('.');
        foreach (var segment in segments[..^1])
        {
            if (!parent.Items.TryGetValue(segment, out var child) || !child.IsObject())
                // Nothing (or no block) there to replace: setting is the same as replacing.
                return fragment.WithFallback(config);
            parent = child.GetObject();
        }
        parent.Items[segments[^1]] = fragment.GetValue(key);
        return new Config(new HoconRoot(root));
    }

    static Config ParseHocon(string text, string origin, Func<string, HoconRoot>? includes = null)
    {
        try
        {
            return includes is null ? ConfigurationFactory.ParseString(text) : ConfigurationFactory.ParseString(text, includes);
        }
        catch (Exception e) when (e is not ExperimentException)
        {
            // Akka's messages carry no position; the first line is the useful part.
            var reason = e.Message.Split('\n')[0].Trim();
            throw new ExperimentException($"this is not valid HOCON: {reason}", origin, inner: e);
        }
    }

    /// <summary>
    /// The override's value as HOCON. Numbers, booleans, lists, blocks and quoted text are taken as written; other
    /// text (a path, <c>cuda:0</c>, a name with '#') is quoted, so characters special to HOCON keep their meaning.
    /// </summary>
    static string AsHoconValue(string value) =>
        value.Length == 0 || value[0] is '[' or '{' or '"' || !NeedsQuotes().IsMatch(value)
            ? value
            : ExperimentHoconWriter.Quote(value);

    /// <summary>Whether an override for <paramref name="overrideKey"/> sets <paramref name="keyPath"/> or a block around it.</summary>
    static bool Covers(string overrideKey, string keyPath) => CoversPath(overrideKey.TrimEnd(':'), keyPath);

    static bool CoversPath(string overrideKey, string keyPath) =>
        keyPath == overrideKey
        || keyPath.StartsWith(overrideKey + ".", StringComparison.Ordinal)
        || keyPath.StartsWith(overrideKey + "[", StringComparison.Ordinal);

    static string OverrideOrigin(string assignment) => $"--set {assignment}";

    [GeneratedRegex(@"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")]
    private static partial Regex OverrideKey();

    // Characters HOCON does not allow in unquoted text, plus comment starts and whitespace at the edges.
    [GeneratedRegex(@"[$""{}\[\]:=,+#`^?!@*&\\]|//|^\s|\s$")]
    private static partial Regex NeedsQuotes();
}
