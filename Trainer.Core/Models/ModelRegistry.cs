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
/// The model types an experiment may name. Types are registered explicitly, by code, under a name; an experiment
/// file can only pick among them, never name an arbitrary CLR type to instantiate.
/// Built-ins: <c>mlp</c> (<see cref="MlpClassifier"/>) and <c>cnn</c> (<see cref="ConvNetClassifier"/>).
/// </summary>
public sealed class ModelRegistry
{
    readonly Dictionary<string, ModelDefinition> _definitions = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A registry holding the built-in models; add your own with <see cref="Register(ModelDefinition)"/>.</summary>
    public static ModelRegistry WithBuiltIns() => new ModelRegistry()
        .Register(MlpClassifier.Definition)
        .Register(ConvNetClassifier.Definition);

    public IReadOnlyCollection<string> Names => _definitions.Keys.Order(StringComparer.Ordinal).ToList();

    public ModelDefinition this[string type] => Find(type);

    public ModelRegistry Register(ModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
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
    /// Registers a module type by its public constructor (the one with the most parameters): each parameter becomes
    /// an argument named in snake_case (<c>hiddenSize</c> → <c>hidden_size</c>) with the C# default value as its
    /// default. Supported parameter types: int, long, double, float, bool, string, int[], long[], double[].
    /// An array parameter can only default to null in C#; use the explicit overload to record a real default.
    /// </summary>
    public ModelRegistry Register<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TModule>(string name, string description = "")
        where TModule : Module<Tensor, Tensor>
    {
        var constructor = typeof(TModule).GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new ArgumentException($"{typeof(TModule).Name} has no public constructor to build it with.");
        var infos = constructor.GetParameters();
        var parameters = infos.Select(p => ToParameter(typeof(TModule), p)).ToList();
        return Register(name, parameters, arguments =>
        {
            var values = infos.Select((p, i) => ToClr(arguments.Values[parameters[i].Name], p.ParameterType)).ToArray();
            try
            {
                return (TModule)constructor.Invoke(values);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new ModelConfigurationException($"Building model '{name}' ({typeof(TModule).Name}) failed: {e.InnerException.Message}");
            }
        }, description);
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
        var byName = definition.Parameters.ToDictionary(p => Normalize(p.Name));
        var resolved = new Dictionary<string, object?>(StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var (name, value) in spec.Arguments)
        {
            if (!byName.TryGetValue(Normalize(name), out var parameter))
            {
                var suggestion = Closest(name, definition.Parameters.Select(p => p.Name));
                errors.Add($"unknown argument '{name}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}");
                continue;
            }
            try
            {
                resolved[parameter.Name] = parameter.Convert(value);
            }
            catch (FormatException e)
            {
                errors.Add($"argument '{parameter.Name}' {e.Message}");
            }
        }
        foreach (var parameter in definition.Parameters.Where(p => !resolved.ContainsKey(p.Name)))
        {
            if (parameter.Required)
                errors.Add($"argument '{parameter.Name}' is required");
            else
                resolved[parameter.Name] = parameter.Default;
        }
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
        var suggestion = type is null ? null : Closest(type, _definitions.Keys);
        throw new ModelConfigurationException(
            $"Unknown model type '{type}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. " +
            $"Registered types: {string.Join(", ", Names)}. A custom model must be registered in code with ModelRegistry.Register before it can be named in an experiment.");
    }

    static string ListParameters(ModelDefinition definition) =>
        definition.Parameters.Count == 0 ? "none" : string.Join(", ", definition.Parameters);

    static string Normalize(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>The candidate within edit distance 2 of <paramref name="name"/>, for "did you mean" hints.</summary>
    static string? Closest(string name, IEnumerable<string> candidates) =>
        candidates.Select(c => (Candidate: c, Distance: EditDistance(Normalize(name), Normalize(c))))
            .Where(c => c.Distance <= 2).OrderBy(c => c.Distance).Select(c => c.Candidate).FirstOrDefault();

    static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    static ModelParameter ToParameter(Type module, ParameterInfo info)
    {
        var kind = info.ParameterType switch
        {
            var t when t == typeof(int) || t == typeof(long) => ModelParameterKind.Int,
            var t when t == typeof(double) || t == typeof(float) => ModelParameterKind.Number,
            var t when t == typeof(bool) => ModelParameterKind.Bool,
            var t when t == typeof(string) => ModelParameterKind.Text,
            var t when t == typeof(int[]) || t == typeof(long[]) => ModelParameterKind.IntList,
            var t when t == typeof(double[]) => ModelParameterKind.NumberList,
            var t => throw new ArgumentException(
                $"{module.Name}'s constructor parameter '{info.Name}' has type {t.Name}; registrable parameters are " +
                "int, long, double, float, bool, string, int[], long[] and double[]. Use the explicit Register overload for others."),
        };
        var name = SnakeCase(info.Name!);
        if (!info.HasDefaultValue)
            return new ModelParameter(name, kind, null, Required: true);
        var parameter = new ModelParameter(name, kind, null);
        return parameter with { Default = info.DefaultValue is null ? null : parameter.Convert(info.DefaultValue) };
    }

    static object? ToClr(object? value, Type type) => value switch
    {
        null => null,
        int i when type == typeof(long) => (long)i,
        double d when type == typeof(float) => (float)d,
        int[] a when type == typeof(long[]) => a.Select(x => (long)x).ToArray(),
        _ => value,
    };

    static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
                builder.Append('_');
            builder.Append(char.ToLowerInvariant(name[i]));
        }
        return builder.ToString();
    }
}
