using System.Reflection;
using TrainManager.Models;
using TrainManager.Testing;
using static TorchSharp.torch;

namespace TrainManager.Tests.Torch;

/// <summary>
/// Keeps the project free of Scalars that nothing keeps alive (see <see cref="NativeLifetimeAudit"/>): such a temporary
/// can be finalized by a collection on another thread while libtorch reads it, and training dies with c10::Scalar errors.
/// </summary>
public sealed class NativeLifetimeAuditTests
{
    /// <summary>Every assembly of the framework that runs on a training thread or beside it.</summary>
    static readonly Assembly[] Framework =
    [
        typeof(TrainManager.Training.Trainer).Assembly,                                   // stages, training, data, models, ring
        typeof(TrainManager.Extensions.BuiltInComponents).Assembly,                      // built-in extensions
        typeof(TrainManager.Node.Workers.TrainingJob).Assembly,            // CLI, coordinator, workers
        typeof(NativeLifetimeAudit).Assembly,                                // the test kit users run their extensions on
    ];

    [Fact]
    public void The_framework_makes_no_Scalar_that_nothing_keeps_alive()
    {
        var found = Framework.SelectMany(NativeLifetimeAudit.Assembly).Select(u => u.ToString()).ToList();

        Assert.True(found.Count == 0,
            "Make these Scalars explicit and keep them until the call returns (an OwnedScalars, or `using var s = x.ToScalar();`):\n" +
            string.Join("\n", found));
    }

    [Fact]
    public void Every_layer_of_the_built_in_models_keeps_its_Scalars_alive()
    {
        var registry = TestComponents.Catalog.Models;
        foreach (var name in new[] { "mlp", "cnn" })
        {
            using var model = registry.Create(new ModelSpec(name, new Dictionary<string, object?>()));
            Assert.Empty(NativeLifetimeAudit.Modules(model.Module).Select(u => u.ToString()));
        }
    }

    [Fact]
    public void An_implicit_conversion_in_user_code_is_reported_with_its_method()
    {
        var found = NativeLifetimeAudit.Types([typeof(HalvesImplicitly)]);

        var use = Assert.Single(found);
        Assert.Equal("NativeLifetimeAuditTests.HalvesImplicitly.Halve", use.Method);
    }

    [Fact]
    public void A_TorchSharp_call_that_converts_inside_is_reported_with_the_chain_down_to_it()
    {
        var found = NativeLifetimeAudit.Types([typeof(AddsWithTheDefaultAlpha)]);

        var use = Assert.Single(found);
        Assert.StartsWith("torch.Tensor.add_(Tensor)", use.Chain[0]);
    }

    [Fact]
    public void Explicit_Scalars_kept_until_the_call_returns_are_not_reported()
    {
        Assert.Empty(NativeLifetimeAudit.Types([typeof(HalvesExplicitly)]));
    }

    [Fact]
    public void A_TorchSharp_layer_that_converts_in_its_forward_is_reported()
    {
        using var layer = nn.BatchNorm2d(3);

        var use = Assert.Single(NativeLifetimeAudit.Modules(layer));
        Assert.Equal("BatchNorm2d.forward", use.Method);
    }

    [Fact]
    public void Reading_the_random_state_through_TorchSharps_temporary_generator_is_reported()
    {
        var use = Assert.Single(NativeLifetimeAudit.Types([typeof(ReadsTheRandomState)]));

        Assert.StartsWith("torch.random.get_rng_state()", use.Chain[0]);
    }

    static class ReadsTheRandomState
    {
        public static Tensor State() => random.get_rng_state();
    }

    static class HalvesImplicitly
    {
        public static Tensor Halve(Tensor x) => x.mul(0.5);
    }

    static class AddsWithTheDefaultAlpha
    {
        public static Tensor Accumulate(Tensor sum, Tensor x) => sum.add_(x);
    }

    static class HalvesExplicitly
    {
        public static Tensor Halve(Tensor x)
        {
            using var half = TorchSharp.ScalarExtensionMethods.ToScalar(0.5);
            return x.mul(half);
        }
    }
}
