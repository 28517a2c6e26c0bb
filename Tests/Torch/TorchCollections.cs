namespace TrainManager.Tests.Torch;

/// <summary>
/// Tests that assert on torch's global random generator: they must not run while other test classes draw from it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalTorchRandomCollection
{
    public const string Name = "global torch random generator";
}
