using System.Reflection;

namespace TrainManager.Experiments;

/// <summary>
/// How every entry point tells a failure: whether it was the user's mistake (<see cref="Is"/>: the CLI's exit code 2, a
/// worker's <c>FailureKind.BadInput</c>) and the sentence a person reads (<see cref="Describe"/>). One copy, so the
/// command line and the cluster cannot disagree about the same exception.
/// </summary>
public static class BadInput
{
    /// <summary>
    /// Whether <paramref name="e"/> is a mistake in what the user gave (it or the exception it stands for is an
    /// <see cref="IBadInput"/>). Wrappers that only carry an exception across a boundary (a task's
    /// <see cref="AggregateException"/>, a reflective call's <see cref="TargetInvocationException"/>) are looked
    /// through; an aggregate is bad input when everything it holds is. A failure that merely wraps a bad input is not:
    /// a hook that failed because of a missing file is a failed run, since the hook, not the user, chose to read it.
    /// </summary>
    public static bool Is(Exception e) => Unwrap(e) switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(Is),
        var failure => failure is IBadInput,
    };

    /// <summary>The message chain of a failure, outermost first, so "hook X failed" also says why; a message that the
    /// previous one already contains is dropped, and wrappers (see <see cref="Is"/>) say nothing of their own.</summary>
    public static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (Exception? current = Unwrap(e); current is not null; current = current.InnerException is { } inner ? Unwrap(inner) : null)
        {
            if (current is AggregateException { InnerExceptions.Count: > 1 } many)
            {
                messages.Add(string.Join("; ", many.InnerExceptions.Select(Describe)));
                break;
            }
            if (messages.Count == 0 || !messages[^1].Contains(current.Message, StringComparison.Ordinal))
                messages.Add(current.Message);
        }
        return string.Join(" ← ", messages);
    }

    /// <summary>The exception a wrapper carries; a wrapper of one exception stands for it.</summary>
    static Exception Unwrap(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } one => Unwrap(one.InnerExceptions[0]),
        TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        _ => e,
    };
}
