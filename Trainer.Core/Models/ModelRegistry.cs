using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;
using TrainManager.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Models;

/// <summary>Builds a module from resolved arguments.</summary>
public delegate Module<Tensor, Tensor> ModelFactory(ModelArguments arguments);

/// <summary>A registered model type: its name, the arguments it accepts, and how to build it.</summary>
public sealed record ModelDefinition(string Name, IReadOnlyList<ModelParameter> Parameters, ModelFactory Factory, string Description = "");

/// <summary>A built model and the resolved spec it was built from (every argument, defaults filled in).</summary>
public sealed class ModelInstance(ModelSpec spec, Module<Tensor, Tensor> module) : IDisposable
{
    public ModelSpec Spec { get; } = spec;
    public Module<Tensor, Tensor> Module { get; } = module;
    public long ParameterCount => Module.parameters().Sum(p => p.numel());
    public void Dispose() => Module.Dispose();
}

/// <summary>
/// The model types an experiment may name. Types come from the <see cref="Components.ComponentCatalog"/> (classes
/// marked <c>[Component("name")]</c>, the built-in <c>mlp</c> and <c>cnn</c> among them) or are registered by code under
/// a name; an experiment file can only pick among them, never name an arbitrary CLR type to instantiate.
/// </summary>
public sealed class ModelRegistry
{
    readonly Dictionary<string, ModelDefinition> _definitions = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>An empty registry; add models with <see cref="Register(ModelDefinition)"/>.</summary>
    public ModelRegistry() { }

    /// <summary>A registry of the catalog's model components.</summary>
    internal ModelRegistry(IEnumerable<Components.ComponentDefinition> models)
    {
        foreach (var model in models) Register(FromComponent(model));
        _ownedByCatalog = true;
    }

    /// <summary>A catalog's registry is shared by every run of its process: it changes only by building another catalog.</summary>
    readonly bool _ownedByCatalog;

    public IReadOnlyCollection<string> Names => _definitions.Keys.Order(StringComparer.Ordinal).ToList();

    public ModelDefinition this[string type] => Find(type);

    public ModelRegistry Register(ModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (_ownedByCatalog)
            throw new InvalidOperationException(
                $"The models of a ComponentCatalog cannot be added to; declare model '{definition.Name}' with [Component(\"{definition.Name}\")] and build a catalog that holds it (catalog.WithTypes(typeof(YourModel)) or your training project).");
        if (string.IsNullOrWhiteSpace(definition.Name))
            throw new ArgumentException("A model needs a name.", nameof(definition));
        var duplicate = definition.Parameters.GroupBy(p => Normalize(p.Name)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Model '{definition.Name}' declares argument '{duplicate.First().Name}' twice (names match ignoring case and '_'/'-').");
        if (!_definitions.TryAdd(definition.Name, definition))
            throw new ArgumentException($"A model named '{definition.Name}' is already registered; pick another name.");
        return this;
    }

    public ModelRegistry Register(string name, IReadOnlyList<ModelParameter> parameters, ModelFactory factory, string description = "") =>
        Register(new ModelDefinition(name, parameters, factory, description));

    /// <summary>
    /// Registers a module type by its public constructor (the one with the most parameters), as a
    /// <c>[Component]</c> class is: each parameter becomes an argument named in snake_case (<c>hiddenSize</c> →
    /// <c>hidden_size</c>) with the C# default value (or its <see cref="Components.SettingAttribute"/>'s) as its default.
    /// </summary>
    public ModelRegistry Register<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TModule>(string name, string description = "")
        where TModule : Module<Tensor, Tensor>
    {
        var constructor = typeof(TModule).GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new ArgumentException($"{typeof(TModule).Name} has no public constructor to build it with.");
        try
        {
            return Register(FromComponent(new Components.ComponentDefinition(Components.ComponentKind.Model, name, description, constructor)));
        }
        catch (Components.ComponentDeclarationException e)
        {
            throw new ArgumentException(e.Message);
        }
    }

    static ModelDefinition FromComponent(Components.ComponentDefinition component)
    {
        if (component.Services.Count > 0)
            throw new Components.ComponentDeclarationException(
                $"{component.Describe()}: a model's constructor parameters are its instantiation parameters (int, long, double, float, bool, " +
                $"string, or arrays of those); {string.Join(", ", component.Services.Select(t => t.Name))} is none of them.");
        return new ModelDefinition(component.Name, component.Settings, arguments =>
        {
            try
            {
                return (Module<Tensor, Tensor>)component.Build(arguments.Values, Components.ComponentServices.Empty);
            }
            catch (Exception e) when (e is not ModelConfigurationException and not OutOfMemoryException)
            {
                throw new ModelConfigurationException($"Building model '{component.Name}' ({component.Type.Name}) failed: {e.Message}");
            }
        }, component.Description);
    }

    /// <summary>
    /// Checks a spec against its model's declared arguments and returns it with canonical names, converted values
    /// and every default filled in. Builds nothing, so it is cheap to call when an experiment is submitted.
    /// </summary>
    /// <exception cref="ModelConfigurationException">Unknown type, unknown argument, or a mistyped value.</exception>
    public ModelSpec Resolve(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var definition = Find(spec.Type);
        var errors = new List<string>();
        var resolved = Components.ComponentSettings.Resolve(definition.Parameters, spec.Arguments, "argument", errors, Stages.DidYouMean.Closest);
        if (errors.Count > 0)
            throw new ModelConfigurationException(
                $"Model '{definition.Name}': {string.Join("; ", errors)}. Valid arguments: {ListParameters(definition)}.");
        return new ModelSpec(definition.Name, resolved);
    }

    /// <summary>Resolves the spec and builds the module.</summary>
    public ModelInstance Create(ModelSpec spec)
    {
        var resolved = Resolve(spec);
        TorchRuntime.EnsureLoaded();
        var definition = Find(resolved.Type);
        var module = definition.Factory(new ModelArguments(definition.Name, resolved.Arguments));
        return new ModelInstance(resolved, module);
    }

    ModelDefinition Find(string type)
    {
        if (type is not null && _definitions.TryGetValue(type, out var definition))
            return definition;
        var suggestion = type is null ? null : Stages.DidYouMean.Closest(type, _definitions.Keys);
        throw new ModelConfigurationException(
            $"Unknown model type '{type}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. " +
            $"Registered types: {string.Join(", ", Names)}. A model of your own is a Module<Tensor, Tensor> class marked [Component(\"name\")] in your training project, named in the experiment's code {{ project = ... }}.");
    }

    static string ListParameters(ModelDefinition definition) =>
        definition.Parameters.Count == 0 ? "none" : string.Join(", ", definition.Parameters);

    static string Normalize(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();
}
