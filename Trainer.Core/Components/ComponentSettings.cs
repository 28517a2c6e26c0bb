using System.Reflection;
using System.Text;
using TrainManager.Models;

namespace TrainManager.Components;

/// <summary>How a component's parameters become settings: which types are settings, their names and defaults.</summary>
internal static class ComponentSettings
{
    /// <summary>Named in the error a component gets when it asks for a service nobody provides.</summary>
    internal const string ProvidedServices =
        "ExtensionContext (run directory and experiment), DataContext (experiment directory, run directory), the console (Spectre.Console.IAnsiConsole)";

    static readonly Dictionary<Type, ModelParameterKind> Kinds = new()
    {
        [typeof(int)] = ModelParameterKind.Int,
        [typeof(long)] = ModelParameterKind.Int,
        [typeof(double)] = ModelParameterKind.Number,
        [typeof(float)] = ModelParameterKind.Number,
        [typeof(bool)] = ModelParameterKind.Bool,
        [typeof(string)] = ModelParameterKind.Text,
        [typeof(int[])] = ModelParameterKind.IntList,
        [typeof(long[])] = ModelParameterKind.IntList,
        [typeof(double[])] = ModelParameterKind.NumberList,
        [typeof(float[])] = ModelParameterKind.NumberList,
        [typeof(string[])] = ModelParameterKind.TextList,
    };

    /// <summary>The setting <paramref name="parameter"/> declares, or null when it is a service.</summary>
    internal static ModelParameter? ToSetting(ComponentDefinition component, ParameterInfo parameter)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (!Kinds.TryGetValue(type, out var kind)) return null;
        var described = parameter.GetCustomAttribute<SettingAttribute>();
        var name = component.Kind.SnakeCaseSettings ? Words(parameter.Name!, '_') : Words(parameter.Name!, '-');
        var setting = new ModelParameter(name, kind, null, Description: described?.Description ?? "");
        var declared = described?.Default ?? (parameter.HasDefaultValue ? parameter.DefaultValue : null);
        if (declared is null && !parameter.HasDefaultValue)
            return setting with { Required = true };
        try
        {
            return setting with { Default = declared is null ? null : setting.Convert(declared) };
        }
        catch (FormatException e)
        {
            throw new ComponentDeclarationException($"{component.Describe()}: the default of '{parameter.Name}' {e.Message}.");
        }
    }

    /// <summary>
    /// <paramref name="given"/> checked against <paramref name="declared"/>: canonical names, converted values, every
    /// default filled in; each problem is one entry of <paramref name="errors"/> (<paramref name="word"/> is "setting" or
    /// "argument", <paramref name="closest"/> suggests a name for a mistyped one).
    /// </summary>
    internal static Dictionary<string, object?> Resolve(IReadOnlyList<ModelParameter> declared, IReadOnlyDictionary<string, object?> given,
        string word, List<string> errors, Func<string, IEnumerable<string>, string?> closest)
    {
        var byName = declared.ToDictionary(p => Normalize(p.Name));
        var resolved = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in given)
        {
            if (!byName.TryGetValue(Normalize(name), out var setting))
            {
                var suggestion = closest(name, declared.Select(p => p.Name));
                errors.Add($"unknown {word} '{name}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}");
                continue;
            }
            try
            {
                resolved[setting.Name] = setting.Convert(value);
            }
            catch (FormatException e)
            {
                errors.Add($"{word} '{setting.Name}' {e.Message}");
            }
        }
        foreach (var setting in declared.Where(p => !resolved.ContainsKey(p.Name)))
        {
            if (setting.Required) errors.Add($"{word} '{setting.Name}' is required");
            else resolved[setting.Name] = setting.Default;
        }
        return resolved;
    }

    /// <summary>Setting names match ignoring case, '-' and '_': <c>hidden_size</c>, <c>hidden-size</c>, <c>hiddenSize</c>.</summary>
    internal static string Normalize(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>A converted setting value in the CLR type the parameter declares.</summary>
    internal static object? ToClr(object? value, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return value switch
        {
            null => null,
            int i when type == typeof(long) => (long)i,
            double d when type == typeof(float) => (float)d,
            int[] a when type == typeof(long[]) => a.Select(x => (long)x).ToArray(),
            double[] a when type == typeof(float[]) => a.Select(x => (float)x).ToArray(),
            _ => value,
        };
    }

    /// <summary><c>hiddenSize</c> → <c>hidden_size</c> or <c>hidden-size</c>.</summary>
    internal static string Words(string name, char separator)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) builder.Append(separator);
            builder.Append(char.ToLowerInvariant(name[i]));
        }
        return builder.ToString();
    }
}
