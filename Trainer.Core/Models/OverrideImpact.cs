using System.Text.Json;

namespace TrainManager.Models;

/// <summary>What an override of one model argument does to a recorded model.</summary>
/// <param name="Argument">The model argument that differs from the recorded instantiation parameters.</param>
/// <param name="Recorded">Its recorded value (JSON).</param>
/// <param name="Overridden">Its new value (JSON).</param>
/// <param name="ShapesWeights">True when the argument changes the shape or set of parameters, so recorded weights cannot load.</param>
/// <param name="Changes">The parameters whose shape changed, appeared or disappeared, e.g. <c>fc1.weight [128x3136] → [64x3136]</c>.</param>
public sealed record ArgumentOverride(string Argument, string Recorded, string Overridden, bool ShapesWeights, IReadOnlyList<string> Changes)
{
    public override string ToString() => ShapesWeights
        ? $"override of model argument '{Argument}' ({Recorded} → {Overridden}) changes the weights' shapes ({string.Join("; ", Changes)}): the recorded weights will not load into this model"
        : $"override of model argument '{Argument}' ({Recorded} → {Overridden}) leaves the weights' shapes as they are: a free parameter";
}

/// <summary>
/// Tells, for a model rebuilt from its recorded instantiation parameters with overrides, which overrides are
/// free (a threshold, dropout) and which shape the weights (a layer width), by building the model both ways,
/// one argument at a time, and comparing parameter shapes. Models that need this check are small enough to build.
/// </summary>
public static class OverrideImpact
{
    public static IReadOnlyList<ArgumentOverride> Assess(ModelRegistry registry, ModelSpec recorded, ModelSpec overridden)
    {
        var baseline = registry.Resolve(recorded);
        var target = registry.Resolve(overridden);
        if (baseline.Type != target.Type)
            return [new ArgumentOverride("type", baseline.Type, target.Type, true, ["a different model type"])];
        var baseShapes = Shapes(registry, baseline);
        var result = new List<ArgumentOverride>();
        foreach (var (name, value) in target.Arguments)
        {
            var before = Json(baseline.Arguments.GetValueOrDefault(name));
            var after = Json(value);
            if (before == after) continue;
            var single = new Dictionary<string, object?>(baseline.Arguments) { [name] = value };
            var changes = Compare(baseShapes, Shapes(registry, new ModelSpec(baseline.Type, single)));
            result.Add(new ArgumentOverride(name, before, after, changes.Count > 0, changes));
        }
        return result;
    }

    private static Dictionary<string, string> Shapes(ModelRegistry registry, ModelSpec spec)
    {
        using var model = registry.Create(spec);
        return model.Module.state_dict().ToDictionary(p => p.Key, p => $"[{string.Join("x", p.Value.shape)}]");
    }

    private static List<string> Compare(Dictionary<string, string> before, Dictionary<string, string> after)
    {
        var changes = new List<string>();
        foreach (var (name, shape) in before)
            if (!after.TryGetValue(name, out var other)) changes.Add($"{name} {shape} removed");
            else if (other != shape) changes.Add($"{name} {shape} → {other}");
        foreach (var (name, shape) in after)
            if (!before.ContainsKey(name)) changes.Add($"{name} {shape} added");
        return changes;
    }

    private static string Json(object? value) => JsonSerializer.Serialize(value);
}
