using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace TrainManager.Models;

public enum ModelParameterKind { Int, Number, Bool, Text, IntList, NumberList, TextList }

/// <summary>Raised for an unknown model type, an unknown argument or a value of the wrong type.</summary>
public sealed class ModelConfigurationException(string message) : Exception(message), Experiments.IBadInput;

/// <summary>
/// One constructor argument a registered model accepts. A null <see cref="Default"/> with
/// <see cref="Required"/> means the experiment must give it.
/// </summary>
public sealed record ModelParameter(string Name, ModelParameterKind Kind, object? Default, bool Required = false, string Description = "")
{
    public static ModelParameter Int(string name, int @default, string description = "") => new(name, ModelParameterKind.Int, @default, false, description);
    public static ModelParameter Number(string name, double @default, string description = "") => new(name, ModelParameterKind.Number, @default, false, description);
    public static ModelParameter Bool(string name, bool @default, string description = "") => new(name, ModelParameterKind.Bool, @default, false, description);
    public static ModelParameter Text(string name, string @default, string description = "") => new(name, ModelParameterKind.Text, @default, false, description);
    public static ModelParameter IntList(string name, int[] @default, string description = "") => new(name, ModelParameterKind.IntList, @default, false, description);
    public static ModelParameter NumberList(string name, double[] @default, string description = "") => new(name, ModelParameterKind.NumberList, @default, false, description);

    public string KindName => Kind switch
    {
        ModelParameterKind.Int => "integer",
        ModelParameterKind.Number => "number",
        ModelParameterKind.Bool => "boolean",
        ModelParameterKind.Text => "string",
        ModelParameterKind.IntList => "list of integers",
        ModelParameterKind.TextList => "list of strings",
        _ => "list of numbers",
    };

    /// <summary>"hidden (list of integers, default [256, 128])", for error messages.</summary>
    public override string ToString() =>
        $"{Name} ({KindName}, {(Required ? "required" : "default " + ModelSpec.Format(Default))})";

    /// <summary>
    /// Converts a configuration value to this parameter's CLR type: int, double, bool, string, int[] or double[].
    /// Accepts what configuration parsers produce — numbers of any width, numeric strings, JSON elements,
    /// lists, and comma-separated strings for lists — and rejects anything that would lose information.
    /// </summary>
    /// <exception cref="FormatException">The value does not fit; the message says what was expected.</exception>
    public object? Convert(object? value)
    {
        if (value is JsonElement element)
            value = ModelSpec.FromElement(element);
        if (value is null)
            return Required ? throw new FormatException("a value is required") : null;
        return Kind switch
        {
            ModelParameterKind.Int => ToInt(value),
            ModelParameterKind.Number => ToDouble(value),
            ModelParameterKind.Bool => ToBool(value),
            ModelParameterKind.Text => ToText(value),
            ModelParameterKind.IntList => ToList(value).Select(ToInt).ToArray(),
            ModelParameterKind.TextList => ToList(value).Select(ToText).ToArray(),
            _ => ToList(value).Select(ToDouble).ToArray(),
        };
    }

    static int ToInt(object value)
    {
        switch (value)
        {
            case int i: return i;
            case long l when l is >= int.MinValue and <= int.MaxValue: return (int)l;
            case short or byte or sbyte or ushort: return System.Convert.ToInt32(value, CultureInfo.InvariantCulture);
            case double d when Math.Floor(d) == d && d is >= int.MinValue and <= int.MaxValue: return (int)d;
            case float f when MathF.Floor(f) == f && f is >= int.MinValue and <= int.MaxValue: return (int)f;
            case decimal m when decimal.Floor(m) == m && m is >= int.MinValue and <= int.MaxValue: return (int)m;
            case string s when int.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed): return parsed;
            default: throw new FormatException($"expected an integer, got {Describe(value)}");
        }
    }

    static double ToDouble(object value) => value switch
    {
        double d => d,
        float f => f,
        int or long or short or byte or sbyte or ushort or uint or ulong or decimal => System.Convert.ToDouble(value, CultureInfo.InvariantCulture),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new FormatException($"expected a number, got {Describe(value)}"),
    };

    // HOCON does not keep quotes, so a name that looks like a number or a boolean arrives as one; text is what was meant.
    static string ToText(object value) => value switch
    {
        string s => s,
        long or int or double or bool => System.Convert.ToString(value, CultureInfo.InvariantCulture)!,
        _ => throw new FormatException($"expected a string, got {Describe(value)}"),
    };

    static bool ToBool(object value) => value switch
    {
        bool b => b,
        string s when bool.TryParse(s.Trim(), out var parsed) => parsed,
        _ => throw new FormatException($"expected true or false, got {Describe(value)}"),
    };

    static IEnumerable<object> ToList(object value) => value switch
    {
        // "256,128" or "[256, 128]": what a command-line override naturally looks like.
        string s => s.Trim().TrimStart('[').TrimEnd(']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        IEnumerable list => list.Cast<object?>().Select(v => v is JsonElement e ? ModelSpec.FromElement(e) : v)
            .Select(v => v ?? throw new FormatException("a list element is null")),
        _ => throw new FormatException($"expected a list, got {Describe(value)}"),
    };

    static string Describe(object value) => $"{ModelSpec.Format(value)} ({value.GetType().Name})";
}

/// <summary>Resolved, converted arguments handed to a model factory.</summary>
public sealed class ModelArguments(string modelType, IReadOnlyDictionary<string, object?> values)
{
    public IReadOnlyDictionary<string, object?> Values => values;

    public int Int(string name) => Get<int>(name);
    public double Number(string name) => Get<double>(name);
    public bool Bool(string name) => Get<bool>(name);
    public string Text(string name) => Get<string>(name);
    public int[] IntList(string name) => Get<int[]>(name);
    public double[] NumberList(string name) => Get<double[]>(name);

    T Get<T>(string name) => values.TryGetValue(name, out var value) && value is T typed
        ? typed
        : throw new InvalidOperationException(
            $"The factory of model '{modelType}' read argument '{name}' as {typeof(T).Name}, but it was declared " +
            (values.ContainsKey(name) ? $"with another type ({values[name]?.GetType().Name ?? "null"})." : "nowhere; declare it when registering."));
}
