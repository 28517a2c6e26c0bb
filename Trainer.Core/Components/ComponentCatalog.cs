using System.Reflection;
using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Stages;

namespace TrainManager.Components;

/// <summary>
/// Everything an experiment can name: models, data sources, tasks and extensions, found by their
/// <see cref="ComponentAttribute"/> in the assemblies the entry point hands in: the framework's own and those of the
/// user's training project, registered alike. Built once per entry point (CLI, node, tests, benchmarks) and passed
/// down; immutable, so one catalog serves every run of a process.
/// </summary>
public sealed class ComponentCatalog
{
    private readonly Dictionary<(ComponentKind Kind, string Name), ComponentDefinition> _definitions;
    private readonly IReadOnlyList<Assembly> _assemblies;
    private readonly IReadOnlyList<Type> _types;

    private ComponentCatalog(IReadOnlyList<Assembly> assemblies, IReadOnlyList<Type> types, Dictionary<(ComponentKind, string), ComponentDefinition> definitions)
    {
        _assemblies = assemblies;
        _types = types;
        _definitions = definitions;
        Models = new ModelRegistry(All.Where(d => d.Kind == ComponentKind.Model));
    }

    /// <summary>The components declared in <paramref name="assemblies"/>.</summary>
    /// <exception cref="ComponentDeclarationException">Two components of a kind share a name, or one cannot be built as declared.</exception>
    public static ComponentCatalog Discover(IEnumerable<Assembly> assemblies) => Discover(assemblies, []);

    static ComponentCatalog Discover(IEnumerable<Assembly> assemblies, IEnumerable<Type> types)
    {
        var list = assemblies.Distinct().ToList();
        var typeList = types.Distinct().Where(t => !list.Contains(t.Assembly)).ToList();
        var definitions = new Dictionary<(ComponentKind, string), ComponentDefinition>();
        foreach (var definition in list.SelectMany(ComponentDiscovery.Find).Concat(typeList.SelectMany(ComponentDiscovery.Declared)))
            if (!definitions.TryAdd((definition.Kind, definition.Name), definition))
                throw new ComponentDeclarationException(
                    $"Two {definition.Kind}s are named '{definition.Name}': {definitions[(definition.Kind, definition.Name)].Describe()} and {definition.Describe()}. Rename one.");
        return new ComponentCatalog(list, typeList, definitions);
    }

    /// <summary>This catalog plus the components of <paramref name="more"/> (a user's training project).</summary>
    public ComponentCatalog With(IEnumerable<Assembly> more) => Discover(_assemblies.Concat(more), _types);

    /// <summary>This catalog plus the components <paramref name="types"/> declare (on themselves or their static methods):
    /// for a program or test that declares a few components without being a training project.</summary>
    public ComponentCatalog WithTypes(params IEnumerable<Type> types) => Discover(_assemblies, _types.Concat(types));

    /// <summary>The assemblies the components came from.</summary>
    public IReadOnlyList<Assembly> Assemblies => _assemblies;

    /// <summary>Every component, by kind and name.</summary>
    public IReadOnlyList<ComponentDefinition> All =>
        _definitions.Values.OrderBy(d => ComponentKind.All.ToList().IndexOf(d.Kind)).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();

    /// <summary>The models, as the registry that resolves and builds model specs.</summary>
    public ModelRegistry Models { get; }

    /// <summary>The names of one kind, sorted.</summary>
    public IReadOnlyList<string> Names(ComponentKind kind) =>
        _definitions.Keys.Where(k => k.Kind == kind).Select(k => k.Name).Order(StringComparer.Ordinal).ToList();

    public bool Contains(ComponentKind kind, string name) => _definitions.ContainsKey((kind, Canonical(name)));

    /// <summary>Names are kebab-case; <c>AdamW</c> or <c> adam </c> in an experiment mean the same component.</summary>
    static string Canonical(string name) => name.Trim().ToLowerInvariant();

    /// <exception cref="UnknownComponentException">No such component; the message lists those there are.</exception>
    public ComponentDefinition Find(ComponentKind kind, string name)
    {
        if (name is not null && _definitions.TryGetValue((kind, Canonical(name)), out var definition))
            return definition;
        var names = Names(kind);
        throw new UnknownComponentException(
            $"unknown {kind} type '{name}'.{DidYouMean.Hint(name ?? "", names)} Known types: {(names.Count == 0 ? "none" : string.Join(", ", names))}. " +
            $"To add your own, mark a class in your training project with [Component(\"{name}\")] and name the project in the experiment: code {{ project = \"../MyProject\" }}.");
    }

    /// <summary>
    /// Builds the extension <paramref name="section"/> names, with <paramref name="context"/> and
    /// <paramref name="services"/> for the services it asks for.
    /// </summary>
    /// <exception cref="ExperimentException">Unknown type or setting, or settings the extension refuses.</exception>
    public Extension CreateExtension(ExtensionSection section, ExtensionContext context, ComponentServices? services = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        return (Extension)Build(ComponentKind.Extension, section.Type, section.Settings, (services ?? ComponentServices.Empty).With(context),
            KeyPath(section, context.Experiment), context.Experiment.SourceFile);
    }

    /// <summary>Builds the data source <c>data { type = ..., settings }</c> names; its common keys (limits, validation,
    /// prefetch) are applied by <see cref="Training.DataSources"/>.</summary>
    /// <exception cref="ExperimentException">Unknown type or setting, or settings the source refuses.</exception>
    public Data.IDataSource CreateDataSource(DataSection section, Data.DataContext context)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        return (Data.IDataSource)Build(ComponentKind.DataSource, section.Type, section.Settings, ComponentServices.Empty.With(context), "data", null);
    }

    /// <summary>Builds the optimizer <c>optimizer { type = ... }</c> names over <paramref name="parameters"/>.</summary>
    /// <exception cref="ExperimentException">Unknown type, or settings the optimizer refuses.</exception>
    public TorchSharp.Modules.OptimizerHelper CreateOptimizer(OptimizerSection section, IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(section);
        var services = ComponentServices.Empty.With(section).With(new Training.OptimizerTarget(parameters.ToList()));
        return (TorchSharp.Modules.OptimizerHelper)Build(ComponentKind.Optimizer, section.Type, NoSettings, services, "optimizer", null);
    }

    /// <summary>Builds the learning-rate schedule <c>scheduler { type = ... }</c> names for <paramref name="optimizer"/>.</summary>
    /// <exception cref="ExperimentException">Unknown type, or settings the schedule refuses.</exception>
    public Training.LearningRateSchedule CreateSchedule(SchedulerSection section, TorchSharp.Modules.OptimizerHelper optimizer, int epochs)
    {
        ArgumentNullException.ThrowIfNull(section);
        var services = ComponentServices.Empty.With(section).With(new Training.ScheduleTarget(optimizer, epochs));
        return (Training.LearningRateSchedule)Build(ComponentKind.Scheduler, section.Type, NoSettings, services, "scheduler", null);
    }

    /// <summary>An optimizer's and a schedule's settings are their block's fixed keys, handed in as the block itself.</summary>
    static readonly IReadOnlyDictionary<string, object?> NoSettings = new Dictionary<string, object?>();

    /// <summary>Builds the task <c>task { type = ..., settings }</c> names (the loss and the metrics).</summary>
    /// <exception cref="ExperimentException">Unknown type or setting, or settings the task refuses.</exception>
    public Tasks.ITrainingTask CreateTask(TaskSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return (Tasks.ITrainingTask)Build(ComponentKind.Task, section.Type, section.Settings, ComponentServices.Empty, "task", null);
    }

    /// <summary>
    /// Checks that <paramref name="name"/> is a component of <paramref name="kind"/> and that <paramref name="settings"/>
    /// are its own, without building it: for checks when an experiment is read. <paramref name="commonKeys"/> are the
    /// block's keys that are not the component's (a data block's <c>train-limit</c>), offered as suggestions too.
    /// </summary>
    /// <exception cref="ExperimentException">At <paramref name="keyPath"/>, with no origin: the caller places it.</exception>
    public void CheckSettings(ComponentKind kind, string name, IReadOnlyDictionary<string, object?> settings, string keyPath,
        IReadOnlyList<string> commonKeys)
    {
        ComponentDefinition definition;
        try
        {
            definition = Find(kind, name);
        }
        catch (UnknownComponentException e)
        {
            throw new ExperimentException(e.Message, keyPath: $"{keyPath}.type");
        }
        if (settings.Keys.FirstOrDefault(k => !definition.Declares(k)) is not { } unknown)
            return;
        var suggestion = DidYouMean.Closest(unknown, definition.Settings.Select(s => s.Name).Concat(commonKeys));
        throw new ExperimentException(
            $"{kind} '{name}' has no setting '{unknown}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. " +
            $"Its settings: {definition.ListSettings()}. Every {keyPath} block also takes: {string.Join(", ", commonKeys)}.",
            keyPath: $"{keyPath}.{unknown}");
    }

    /// <summary>Finds, checks and builds one component named in an experiment; every problem is an
    /// <see cref="ExperimentException"/> at <paramref name="keyPath"/> (<c>task</c>, <c>extensions[2]</c>).</summary>
    object Build(ComponentKind kind, string name, IReadOnlyDictionary<string, object?> settings, ComponentServices services,
        string keyPath, string? origin)
    {
        ComponentDefinition definition;
        try
        {
            definition = Find(kind, name);
        }
        catch (UnknownComponentException e)
        {
            throw new ExperimentException(e.Message, origin, keyPath: $"{keyPath}.type");
        }
        var errors = new List<string>();
        var resolved = definition.Resolve(settings, errors);
        if (errors.Count > 0)
            throw new ExperimentException(
                $"{kind} '{name}': {string.Join("; ", errors)}. " +
                (definition.Settings.Count == 0 ? "It takes no settings." : $"Its settings: {definition.ListSettings()}."),
                origin, keyPath: settings.Keys.FirstOrDefault(k => !definition.Declares(k)) is { } unknown ? $"{keyPath}.{unknown}" : keyPath);
        try
        {
            return definition.Build(resolved, services);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            // A component refusing its settings is a mistake in the experiment, not a crash: report it as one.
            throw new ExperimentException($"{kind} '{name}' cannot be created from its settings: {e.Message}", origin, keyPath: keyPath, inner: e);
        }
    }

    /// <summary>Builds every extension the experiment names, in order.</summary>
    public IReadOnlyList<Extension> CreateExtensions(ExtensionContext context, ComponentServices? services = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Experiment.Extensions.Select(section => CreateExtension(section, context, services)).ToList();
    }

    static string KeyPath(ExtensionSection section, Experiment experiment)
    {
        for (var i = 0; i < experiment.Extensions.Count; i++)
            if (ReferenceEquals(experiment.Extensions[i], section))
                return $"extensions[{i}]";
        return "extensions";
    }
}

/// <summary>An experiment names a component no loaded assembly declares.</summary>
public sealed class UnknownComponentException(string message) : Exception(message), IBadInput;
