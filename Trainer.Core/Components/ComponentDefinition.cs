using System.Reflection;
using System.Runtime.ExceptionServices;
using TrainManager.Models;

namespace TrainManager.Components;

/// <summary>
/// One component an experiment can name: its kind and name, its settings (the simple-typed parameters of the
/// constructor or factory method that builds it) and the services it needs (the other parameters).
/// </summary>
public sealed class ComponentDefinition
{
    private readonly MethodBase _builder;
    private readonly ParameterInfo[] _parameters;
    private readonly ModelParameter?[] _settingOf;

    internal ComponentDefinition(ComponentKind kind, string name, string description, MethodBase builder)
    {
        Kind = kind;
        Name = name;
        Description = description;
        _builder = builder;
        _parameters = builder.GetParameters();
        _settingOf = _parameters.Select(p => ComponentSettings.ToSetting(this, p)).ToArray();
        Settings = _settingOf.OfType<ModelParameter>().ToList();
        var duplicate = Settings.GroupBy(s => ComponentSettings.Normalize(s.Name)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ComponentDeclarationException($"{Describe()} declares setting '{duplicate.First().Name}' twice (names match ignoring case and '_'/'-').");
    }

    public ComponentKind Kind { get; }
    public string Name { get; }
    public string Description { get; }
    /// <summary>The settings an experiment may give, with their defaults.</summary>
    public IReadOnlyList<ModelParameter> Settings { get; }
    /// <summary>The types the component asks the entry point for.</summary>
    public IReadOnlyList<Type> Services => _parameters.Where((_, i) => _settingOf[i] is null).Select(p => p.ParameterType).ToList();
    /// <summary>The type it builds (the class, or the factory method's return type).</summary>
    public Type Type => _builder is ConstructorInfo c ? c.DeclaringType! : ((MethodInfo)_builder).ReturnType;
    /// <summary>Where it is declared: the assembly's name, for listings and "declared twice" errors.</summary>
    public string Origin => _builder.DeclaringType!.Assembly.GetName().Name ?? "?";

    /// <summary>"model 'mlp' (TrainManager.Models.MlpClassifier in TrainManager.Core)".</summary>
    public string Describe() => $"{Kind} '{Name}' ({_builder.DeclaringType!.FullName}{(_builder is MethodInfo m ? "." + m.Name : "")} in {Origin})";

    /// <summary>
    /// Checks <paramref name="settings"/> against the declared ones: canonical names, converted values, every default
    /// filled in. Builds nothing. Each problem is one entry of <paramref name="errors"/>.
    /// </summary>
    public Dictionary<string, object?> Resolve(IReadOnlyDictionary<string, object?> settings, List<string> errors) =>
        ComponentSettings.Resolve(Settings, settings, SettingWord, errors, Stages.DidYouMean.Closest);

    /// <summary>Whether <paramref name="name"/> (in any of its spellings) is one of its settings.</summary>
    public bool Declares(string name) => Settings.Any(s => ComponentSettings.Normalize(s.Name) == ComponentSettings.Normalize(name));

    /// <summary>What its settings are called in messages: a model's are its arguments.</summary>
    public string SettingWord => Kind.SnakeCaseSettings ? "argument" : "setting";

    /// <summary>"hidden (list of integers, default [256, 128]), ..." or "none".</summary>
    public string ListSettings() => Settings.Count == 0 ? "none" : string.Join(", ", Settings);

    /// <summary>
    /// Builds the component from resolved settings (see <see cref="Resolve"/>) and the entry point's services.
    /// An exception the component's own code throws comes out as it was thrown.
    /// </summary>
    /// <exception cref="ComponentServiceMissingException">A service it needs was not provided.</exception>
    public object Build(IReadOnlyDictionary<string, object?> resolved, IServiceProvider services)
    {
        var values = new object?[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            var parameter = _parameters[i];
            if (_settingOf[i] is { } setting)
                values[i] = ComponentSettings.ToClr(resolved.TryGetValue(setting.Name, out var v) ? v : setting.Default, parameter.ParameterType);
            else
                values[i] = services.GetService(parameter.ParameterType)
                    ?? (parameter.HasDefaultValue ? parameter.DefaultValue
                        : throw new ComponentServiceMissingException(
                            $"{Describe()} asks for a {parameter.ParameterType.Name} ('{parameter.Name}'), which this entry point does not provide. " +
                            $"Give it a default (= null) or ask for one of the services the framework provides: {ComponentSettings.ProvidedServices}."));
        }
        try
        {
            return _builder is ConstructorInfo constructor ? constructor.Invoke(values) : _builder.Invoke(null, values)
                ?? throw new ComponentDeclarationException($"{Describe()} returned null.");
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public override string ToString() => Describe();
}

/// <summary>A [Component] declaration the framework cannot use: the message says what to change in the code.</summary>
public sealed class ComponentDeclarationException(string message) : Exception(message);

/// <summary>A component needs a service its entry point does not have.</summary>
public sealed class ComponentServiceMissingException(string message) : Exception(message);
