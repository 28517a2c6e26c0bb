using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainManager.Models;

/// <summary>
/// What to build: a registered model type and its constructor arguments as simple values (numbers, booleans,
/// strings, lists of those). After <see cref="ModelRegistry.Resolve"/> it holds every argument with defaults
/// filled in — the instantiation parameters recorded with each run and checkpoint.
/// </summary>
public sealed record ModelSpec(string Type, IReadOnlyDictionary<string, object?> Arguments)
{
    public ModelSpec(string type) : this(type, new Dictionary<string, object?>()) { }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string ToJson()
    {
        var arguments = new JsonObject();
        foreach (var (name, value) in Arguments.OrderBy(a => a.Key, StringComparer.Ordinal))
            arguments[name] = ToNode(value);
        return new JsonObject { ["type"] = Type, ["arguments"] = arguments }.ToJsonString(Indented);
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; numbers come back as long (integral) or double.</summary>
    public static ModelSpec FromJson(string json)
    {
        var root = JsonNode.Parse(json) as JsonObject
            ?? throw new FormatException("A model spec must be a JSON object with \"type\" and \"arguments\".");
        var type = root["type"]?.GetValue<string>()
            ?? throw new FormatException("The model spec has no \"type\".");
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (root["arguments"] is JsonObject args)
            foreach (var (name, node) in args)
                arguments[name] = FromElement(JsonSerializer.SerializeToElement(node));
        return new ModelSpec(type, arguments);
    }

    /// <summary>Converts a parsed JSON value to the CLR values a spec holds.</summary>
    public static object? FromElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
        JsonValueKind.Array => element.EnumerateArray().Select(FromElement).ToList(),
        _ => throw new FormatException($"Model arguments must be simple values or lists; got a JSON {element.ValueKind}."),
    };

    static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        float f => JsonValue.Create(f),
        double d => JsonValue.Create(d),
        decimal m => JsonValue.Create(m),
        JsonElement e => JsonNode.Parse(e.GetRawText()),
        System.Collections.IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToNode).ToArray()),
        IConvertible c => JsonValue.Create(c.ToString(CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"Model argument value {value} ({value.GetType().Name}) is not a simple value."),
    };

    public override string ToString() =>
        $"{Type}({string.Join(", ", Arguments.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={Format(a.Value)}"))})";

    internal static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Format)) + "]",
        _ => value.ToString() ?? "",
    };
}
