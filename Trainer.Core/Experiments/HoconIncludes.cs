using Akka.Configuration.Hocon;

namespace TrainManager.Experiments;

/// <summary>
/// The <c>include</c> statements of one experiment load: <c>include "x.hocon"</c>, <c>include file("x.hocon")</c> and
/// <c>include required(...)</c> of either, each relative to the folder of the file that says it.
/// </summary>
/// <remarks>
/// Akka's parser understands only <c>include "name"</c> and hands the name to a callback; so each statement is rewritten
/// to that form, naming an entry here that knows the file, the block it lands in and where the statement was. A missing
/// file is an error even without <c>required(...)</c>: an experiment that silently lost half of its settings would run.
/// </remarks>
internal sealed class HoconIncludes
{
    sealed record Pending(string FullPath, string Display, string Prefix);

    readonly List<Pending> _pending = [];
    readonly List<(string Display, string Prefix, HoconLocator Locator)> _loaded = [];
    readonly Stack<string> _chain = new();

    /// <summary>
    /// <paramref name="text"/> with its includes rewritten for Akka's parser. <paramref name="origin"/> names the file in
    /// errors, <paramref name="baseDirectory"/> is its folder (null: the current directory), <paramref name="prefix"/> the
    /// block the text itself was included in.
    /// </summary>
    public string Rewrite(string text, HoconLocator locator, string origin, string? baseDirectory, string prefix = "")
    {
        if (locator.Includes.Count == 0)
            return text;
        var rewritten = new System.Text.StringBuilder();
        var copied = 0;
        foreach (var include in locator.Includes)
        {
            if (include.Scheme != "file")
                throw new ExperimentException(
                    $"include {include.Scheme}(\"{include.Target}\") is not supported; an experiment includes files: include \"other.hocon\" or include file(\"other.hocon\").",
                    origin, include.Line);
            var fullPath = Path.GetFullPath(include.Target, baseDirectory ?? Environment.CurrentDirectory);
            if (!File.Exists(fullPath))
                throw new ExperimentException(
                    $"the included file \"{include.Target}\" does not exist (looked for {fullPath}). Fix the path: it is relative to the folder of the file that includes it.",
                    origin, include.Line);
            _pending.Add(new Pending(fullPath, Display(fullPath), Join(prefix, include.Prefix)));
            var statement = text[include.Start..include.End];
            // The same number of lines, so every later line number in the text still points at its line.
            var lineBreaks = new string('\n', statement.Count(c => c == '\n'));
            rewritten.Append(text, copied, include.Start - copied)
                .Append("include ").Append(ExperimentHoconWriter.Quote((_pending.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)))
                .Append(lineBreaks);
            copied = include.End;
        }
        return rewritten.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Akka's include callback: parses the file a rewritten statement names, with its own includes.</summary>
    public HoconRoot Resolve(string name)
    {
        var pending = _pending[int.Parse(name, System.Globalization.CultureInfo.InvariantCulture)];
        if (_chain.Contains(pending.FullPath))
            throw new ExperimentException(
                $"\"{pending.Display}\" includes itself (through {string.Join(" → ", _chain.Reverse().Select(Display))}); remove one of these includes.",
                pending.Display);
        string text;
        try
        {
            text = File.ReadAllText(pending.FullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExperimentException($"cannot read the included file: {e.Message}", pending.Display, inner: e);
        }
        var locator = HoconLocator.Scan(text);
        if (locator.SyntaxError is { } syntax)
            throw new ExperimentException($"this is not valid HOCON: {syntax.Message}", pending.Display, syntax.Line);
        _loaded.Add((pending.Display, pending.Prefix, locator));
        _chain.Push(pending.FullPath);
        try
        {
            var expanded = Rewrite(text, locator, pending.Display, Path.GetDirectoryName(pending.FullPath), pending.Prefix);
            return Parser.Parse(expanded, Resolve);
        }
        catch (Exception e) when (e is not ExperimentException)
        {
            throw new ExperimentException($"this is not valid HOCON: {e.Message.Split('\n')[0].Trim()}", pending.Display, inner: e);
        }
        finally
        {
            _chain.Pop();
        }
    }

    /// <summary>Where an included file defines <paramref name="keyPath"/> (the last one loaded wins), or null.</summary>
    public (string Origin, int Line)? Locate(string keyPath)
    {
        for (var i = _loaded.Count - 1; i >= 0; i--)
        {
            var (display, prefix, locator) = _loaded[i];
            var relative = prefix.Length == 0 ? keyPath
                : keyPath.StartsWith(prefix + ".", StringComparison.Ordinal) ? keyPath[(prefix.Length + 1)..]
                : null;
            if (relative is not null && locator.LineOf(relative) is { } line)
                return (display, line);
        }
        return null;
    }

    static string Display(string fullPath) => Path.GetRelativePath(Environment.CurrentDirectory, fullPath);

    static string Join(string prefix, string inner) => prefix.Length == 0 ? inner : inner.Length == 0 ? prefix : $"{prefix}.{inner}";
}
