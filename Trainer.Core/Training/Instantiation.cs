using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Stages;

namespace TrainManager.Training;

/// <summary>
/// The parameters every stateful object of a run was built with: recorded before any checkpoint is
/// loaded, kept with every checkpoint, and used to rebuild the run exactly.
/// </summary>
public sealed record Instantiation(
    ModelSpec Model,
    OptimizerSection Optimizer,
    SchedulerSection Scheduler,
    DataSection Data,
    long Seed,
    int BatchSize,
    IReadOnlyList<ExtensionSection> Extensions,
    IReadOnlyList<string> ExtensionTypes,
    IReadOnlyList<KeyValuePair<string, string>> Overrides)
{
    public static Instantiation Describe(Experiment experiment, ModelSpec resolvedModel, IEnumerable<Extension> extensions) =>
        new(resolvedModel, experiment.Optimizer, experiment.Scheduler, experiment.Data, experiment.Seed, experiment.BatchSize,
            experiment.Extensions, extensions.Select(e => e.GetType().FullName ?? e.Name).ToArray(), experiment.Overrides);
}
