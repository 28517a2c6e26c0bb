using TrainManager.Models;

namespace TrainManager.Tests.Torch;

public sealed class OverrideImpactTests
{
    private static readonly ModelRegistry Registry = TestComponents.Catalog.Models;

    private static ModelSpec Cnn(params (string, object?)[] args) =>
        new("cnn", args.ToDictionary(a => a.Item1, a => a.Item2));

    [Fact]
    public void An_override_of_a_free_parameter_is_reported_as_free()
    {
        var impact = Assert.Single(OverrideImpact.Assess(Registry, Cnn(("dropout", 0.25)), Cnn(("dropout", 0.5))));
        Assert.Equal("dropout", impact.Argument);
        Assert.False(impact.ShapesWeights);
    }

    [Fact]
    public void An_override_that_changes_a_layer_width_is_reported_with_the_changed_tensors()
    {
        var impact = Assert.Single(OverrideImpact.Assess(Registry, Cnn(("hidden", 128)), Cnn(("hidden", 64))));
        Assert.True(impact.ShapesWeights);
        Assert.Contains(impact.Changes, c => c.StartsWith("head.fc1.weight", StringComparison.Ordinal) || c.Contains("fc1.weight"));
        Assert.Contains("will not load", impact.ToString());
    }

    [Fact]
    public void Identical_specs_have_no_overrides()
    {
        Assert.Empty(OverrideImpact.Assess(Registry, Cnn(), Cnn(("hidden", 128))));
    }
}
