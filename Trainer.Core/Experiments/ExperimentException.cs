namespace TrainManager.Experiments;

/// <summary>
/// An experiment that cannot be run as written: a syntax error, an unknown key, a value of the wrong type or out of
/// range, a missing required entry. The message names where (file and line, or the <c>--set</c> override), the key
/// path, and what to change; the CLI prints it as is, without a stack trace.
/// </summary>
public sealed class ExperimentException : Exception, IBadInput
{
    public ExperimentException(string message, string? origin = null, int? line = null, string? keyPath = null, Exception? inner = null)
        : base(Compose(message, origin, line), inner)
    {
        Problem = message;
        Origin = origin;
        Line = line;
        KeyPath = keyPath;
    }

    /// <summary>What is wrong and what to do, without the location prefix.</summary>
    public string Problem { get; }

    /// <summary>The experiment file, <c>--set key=value</c> for an override, or null when neither is known.</summary>
    public string? Origin { get; }

    /// <summary>1-based line in <see cref="Origin"/>, when the problem can be pinned to one.</summary>
    public int? Line { get; }

    /// <summary>The dotted key the problem is about (<c>model.args.hidden</c>, <c>extensions[1].type</c>), if any.</summary>
    public string? KeyPath { get; }

    static string Compose(string message, string? origin, int? line) => (origin, line) switch
    {
        (null, _) => message,
        (_, null) => $"{origin}: {message}",
        _ => $"{origin}, line {line}: {message}",
    };
}
