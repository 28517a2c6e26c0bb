using TrainManager.Components;
using TrainManager.Extensions;

namespace TrainManager.Tests;

/// <summary>The test process's composition root: the built-ins, plus the components tests declare for themselves.</summary>
public static class TestComponents
{
    public static ComponentCatalog Catalog { get; } = BuiltInComponents.Catalog().WithTypes(typeof(Cluster.PaceExtension));
}
