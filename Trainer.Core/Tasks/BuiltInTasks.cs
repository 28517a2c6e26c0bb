using TrainManager.Experiments;

namespace TrainManager.Tasks;

/// <summary>
/// Builds the built-in tasks by the name an experiment gives (<c>task.type</c>) with their settings. A stand-in until
/// the component catalog builds tasks, user tasks included, from their <c>[Component]</c> declarations.
/// </summary>
public static class BuiltInTasks
{
    public static readonly IReadOnlyList<string> Names = ["classification", "regression", "multi-label"];

    /// <summary>The task <paramref name="section"/> names; null when it names no built-in task.</summary>
    /// <exception cref="ExperimentException">A setting the task does not have, or a value it refuses.</exception>
    public static ITrainingTask? TryCreate(TaskSection section)
    {
        switch (section.Type)
        {
            case "classification":
                RequireSettings(section);
                return new ClassificationTask();
            case "regression":
                RequireSettings(section);
                return new RegressionTask();
            case "multi-label":
                RequireSettings(section, "threshold");
                return new MultiLabelTask(Number(section, "threshold", 0.5));
            default:
                return null;
        }
    }

    /// <summary>The task <paramref name="section"/> names.</summary>
    /// <exception cref="ExperimentException">No built-in task has that name.</exception>
    public static ITrainingTask Create(TaskSection section) => TryCreate(section) ?? throw new ExperimentException(
        $"unknown task type '{section.Type}'.{DidYouMean.Hint(section.Type, Names)} Known types: {string.Join(", ", Names)}; " +
        "a task of your own is a class implementing ITrainingTask marked [Component(\"name\")].", keyPath: "task.type");

    static void RequireSettings(TaskSection section, params string[] known)
    {
        foreach (var key in section.Settings.Keys)
            if (!known.Contains(key))
                throw new ExperimentException(
                    $"unknown key 'task.{key}': task '{section.Type}' has {(known.Length == 0 ? "no settings besides type and metrics" : $"the settings {string.Join(", ", known)}")}.",
                    keyPath: $"task.{key}");
    }

    static double Number(TaskSection section, string key, double fallback) => section.Settings.GetValueOrDefault(key) switch
    {
        null => fallback,
        long whole => whole,
        double number => number,
        var other => throw new ExperimentException($"'task.{key}' must be a number, but is \"{other}\". Write e.g. {key} = {fallback}.", keyPath: $"task.{key}"),
    };
}
