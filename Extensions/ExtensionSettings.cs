using System.Globalization;
using TrainManager.Experiments;

namespace TrainManager.Extensions;

/// <summary>
/// Typed reads of an extension's settings for factories: a missing setting gives the default, a mistyped one an
/// <see cref="ExperimentException"/> naming the extension, the setting and an example.
/// </summary>
public static class ExtensionSettings
{
    public static int GetInt(this ExtensionSection section, string name, int defaultValue) =>
        Get(section, name, defaultValue, "a whole number", "10", value => value switch
        {
            long l and >= int.MinValue and <= int.MaxValue => (int)l,
            int i => i,
            _ => null,
        });

    public static double GetDouble(this ExtensionSection section, string name, double defaultValue) =>
        Get(section, name, defaultValue, "a number", "0.5", value => value switch
        {
            double d => d,
            // Whole numbers in HOCON (1000) arrive as integers; a double setting takes them as doubles.
            long l => (double)l,
            int i => (double)i,
            _ => null,
        });

    public static bool GetBool(this ExtensionSection section, string name, bool defaultValue) =>
        Get(section, name, defaultValue, "true or false", "true", value => value as bool?);

    public static string GetString(this ExtensionSection section, string name, string defaultValue) =>
        Get(section, name, defaultValue, "text", "\"...\"", value => value switch
        {
            string s => s,
            // HOCON does not keep quotes, so a name that looks like a number arrives as one; text is what was meant.
            long or double or bool => Convert.ToString(value, CultureInfo.InvariantCulture),
            _ => null,
        });

    static T Get<T>(ExtensionSection section, string name, T defaultValue, string expected, string example, Func<object, object?> convert)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (!section.Settings.TryGetValue(name, out var value) || value is null)
            return defaultValue;
        return convert(value) is T converted
            ? converted
            : throw new ExperimentException(
                $"extension '{section.Type}': setting '{name}' must be {expected}, but is {ExperimentHoconWriter.Value(value)}. Write e.g. {name} = {example}.",
                keyPath: name);
    }
}
