using System.Collections.Concurrent;
using System.Text;

namespace TrainManager.Stages;

/// <summary>
/// The one place that maps between the names users write in C# (<c>PreMyStage</c>, <c>varA</c>)
/// and the names stages and fixtures carry at run time (<c>my_stage</c>, <c>var_a</c>).
/// </summary>
public static class StageNaming
{
    private static readonly ConcurrentDictionary<string, string> SnakeCache = new();

    /// <summary><c>MyStage</c> / <c>myStage</c> / <c>my_stage</c> → <c>my_stage</c>.</summary>
    public static string ToSnakeCase(string name) => SnakeCache.GetOrAdd(name, static n =>
    {
        var sb = new StringBuilder(n.Length + 4);
        for (var i = 0; i < n.Length; i++)
        {
            var c = n[i];
            if (char.IsUpper(c))
            {
                // An underscore before an upper-case letter that starts a new word: "varA" → "var_a",
                // "HTTPServer" → "http_server", "layer2Norm" → "layer2_norm".
                var startsWord = i > 0 && n[i - 1] != '_' &&
                    (char.IsLower(n[i - 1]) || char.IsDigit(n[i - 1]) ||
                     (i + 1 < n.Length && char.IsLower(n[i + 1])));
                if (startsWord) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    });

    /// <summary><c>my_stage</c> → <c>MyStage</c>, the suffix of its hook names.</summary>
    public static string ToPascalCase(string snake)
    {
        var sb = new StringBuilder(snake.Length);
        var upper = true;
        foreach (var c in snake)
        {
            if (c == '_') { upper = true; continue; }
            sb.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return sb.ToString();
    }

    /// <summary>"a", "a and b", "a, b and c".</summary>
    public static string JoinWithAnd(IReadOnlyList<string> items) => Join(items, "and");

    /// <summary>"a", "a or b", "a, b or c".</summary>
    public static string JoinWithOr(IReadOnlyList<string> items) => Join(items, "or");

    private static string Join(IReadOnlyList<string> items, string last) => items.Count switch
    {
        0 => "",
        1 => items[0],
        _ => $"{string.Join(", ", items.Take(items.Count - 1))} {last} {items[^1]}",
    };

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(object)] = "object", [typeof(string)] = "string", [typeof(bool)] = "bool", [typeof(int)] = "int",
        [typeof(long)] = "long", [typeof(float)] = "float", [typeof(double)] = "double", [typeof(short)] = "short",
        [typeof(byte)] = "byte", [typeof(decimal)] = "decimal", [typeof(char)] = "char", [typeof(uint)] = "uint", [typeof(ulong)] = "ulong",
    };

    /// <summary>A type as C# code writes it: <c>long[]</c>, <c>IReadOnlyDictionary&lt;string, double&gt;</c>, <c>int?</c>.</summary>
    public static string TypeName(Type type)
    {
        if (Keywords.TryGetValue(type, out var keyword)) return keyword;
        if (Nullable.GetUnderlyingType(type) is { } underlying) return TypeName(underlying) + "?";
        if (type.IsArray) return TypeName(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        if (!type.IsGenericType) return type.Name;
        var name = type.Name[..type.Name.IndexOf('`')];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";
    }
}
