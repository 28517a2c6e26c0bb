using TorchSharp;
using static TorchSharp.torch;

namespace TrainManager.Components;

/// <summary>
/// What a component is, told by the type it builds: a model builds a <c>Module&lt;Tensor, Tensor&gt;</c>, an extension an
/// <see cref="Stages.Extension"/>, and so on. <see cref="SnakeCaseSettings"/>: a model's settings are its arguments,
/// written <c>hidden_size</c> in experiments (as Python's keyword arguments are); every other kind's are kebab-case.
/// </summary>
public sealed record ComponentKind(string Name, Type Builds, string Where, bool SnakeCaseSettings = false)
{
    public static readonly ComponentKind Model = new("model", typeof(nn.Module<Tensor, Tensor>), "model { type = ... }", SnakeCaseSettings: true);
    public static readonly ComponentKind DataSource = new("data source", typeof(Data.IDataSource), "data { type = ... }");
    public static readonly ComponentKind Task = new("task", typeof(Tasks.ITrainingTask), "task { type = ... }");
    public static readonly ComponentKind Optimizer = new("optimizer", typeof(TorchSharp.Modules.OptimizerHelper), "optimizer { type = ... }");
    public static readonly ComponentKind Scheduler = new("scheduler", typeof(Training.LearningRateSchedule), "scheduler { type = ... }");
    public static readonly ComponentKind Extension = new("extension", typeof(Stages.Extension), "extensions = [ { type = ... } ]");

    /// <summary>Every kind, in the order a type is matched against them.</summary>
    public static IReadOnlyList<ComponentKind> All { get; } = [Model, DataSource, Task, Optimizer, Scheduler, Extension];

    /// <summary>The kind whose <see cref="Builds"/> <paramref name="type"/> is, or null.</summary>
    public static ComponentKind? Of(Type type) => All.FirstOrDefault(k => k.Builds.IsAssignableFrom(type));

    public override string ToString() => Name;
}
