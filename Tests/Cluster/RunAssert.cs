using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>Assertions on how a run ended that say why when it ended otherwise: the reason the run gave, whose fault
/// it was, and the error file the worker wrote (its stack trace), so a failure in CI explains itself.</summary>
internal static class RunAssert
{
    public static void EndedAs(RunStatus expected, RunEnded ended, string? context = null) =>
        Assert.True(ended.Status == expected,
            $"run {ended.RunId} ended {ended.Status}, expected {expected}: {ended.Reason ?? "(no reason given)"}" +
            (ended.FailureKind is { } kind ? $" [{kind}]" : "") + ErrorFile(ended.ErrorFile) + (context is null ? "" : $"\n{context}"));

    public static void HasStatus(RunStatus expected, RunDetails details) =>
        Assert.True(details.Summary.Status == expected,
            $"run {details.Summary.RunId} is {details.Summary.Status}, expected {expected} ({details.Summary.Detail}); history:\n" +
            string.Join("\n", details.History.Where(e => e is not (EpochCompleted or CheckpointSaved))) +
            string.Concat(details.History.OfType<ExperimentFailed>().Select(f => ErrorFile(f.ErrorFile))));

    static string ErrorFile(string? path) =>
        path is not null && File.Exists(path) ? $"\n--- {path} ---\n{Head(File.ReadAllText(path))}" : "";

    static string Head(string text) => text.Length <= 6000 ? text : text[..6000] + "\n…";
}
