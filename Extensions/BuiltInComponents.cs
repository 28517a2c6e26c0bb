using System.Reflection;
using TrainManager.Components;
using TrainManager.Training;

namespace TrainManager.Extensions;

/// <summary>The framework's own components: the models, data sources and tasks of the core, and the built-in extensions.</summary>
public static class BuiltInComponents
{
    /// <summary>The assemblies that declare them.</summary>
    public static IReadOnlyList<Assembly> Assemblies { get; } = [typeof(Trainer).Assembly, typeof(BuiltInComponents).Assembly];

    /// <summary>A catalog of the built-ins and the components of <paramref name="more"/> (a user's training project, a test assembly).</summary>
    public static ComponentCatalog Catalog(params IEnumerable<Assembly> more) => ComponentCatalog.Discover(Assemblies.Concat(more));
}
