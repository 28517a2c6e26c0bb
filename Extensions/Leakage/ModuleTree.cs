using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>The model and its submodules with the dotted names used in reports; each module instance once.</summary>
internal static class ModuleTree
{
    public const string RootName = "(model)";

    public static IEnumerable<(string Name, nn.Module Module)> Named(nn.Module model)
    {
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { model };
        yield return (RootName, model);
        foreach (var (name, module) in model.named_modules())
        {
            // A module shared by two parents appears twice; it is one layer.
            if (seen.Add(module))
                yield return (name, module);
        }
    }
}
