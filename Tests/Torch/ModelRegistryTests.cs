using TrainManager.Models;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using TrainManager.Components;

namespace TrainManager.Tests.Torch;

public sealed class ModelRegistryTests
{
    readonly ModelRegistry _registry = TestComponents.Catalog.Models;

    static ModelSpec Spec(string type, params (string Name, object? Value)[] arguments) =>
        new(type, arguments.ToDictionary(a => a.Name, a => a.Value));

    [Fact]
    public void The_built_ins_are_mlp_and_cnn()
    {
        Assert.Equal(["cnn", "mlp"], _registry.Names);
    }

    [Fact]
    public void An_unknown_type_is_an_error_listing_the_registered_types()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => _registry.Resolve(Spec("resnet")));

        Assert.Contains("'resnet'", error.Message);
        Assert.Contains("cnn, mlp", error.Message);
    }

    [Fact]
    public void An_unknown_argument_is_an_error_listing_the_valid_ones_and_suggesting_the_closest()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => _registry.Resolve(Spec("mlp", ("hiden", new[] { 64 }))));

        Assert.Contains("unknown argument 'hiden' (did you mean 'hidden'?)", error.Message);
        Assert.Contains("hidden (list of integers, default [256, 128])", error.Message);
        Assert.Contains("dropout (number, default 0)", error.Message);
    }

    [Fact]
    public void A_mistyped_argument_is_an_error_naming_the_expected_type_and_the_value()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => _registry.Resolve(Spec("mlp", ("classes", "ten"), ("dropout", 0.5))));

        Assert.Contains("argument 'classes' expected an integer, got \"ten\"", error.Message);
    }

    [Fact]
    public void A_fractional_value_for_an_integer_argument_is_rejected_not_truncated()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => _registry.Resolve(Spec("cnn", ("hidden", 12.5))));

        Assert.Contains("'hidden' expected an integer", error.Message);
    }

    [Fact]
    public void Resolving_fills_in_every_default_so_the_run_records_the_full_instantiation()
    {
        var resolved = _registry.Resolve(Spec("mlp", ("hidden", new List<object> { 64L, 32L })));

        Assert.Equal("mlp(classes=10, dropout=0, hidden=[64, 32], input=784)", resolved.ToString());
    }

    [Fact]
    public void Values_as_configuration_parsers_deliver_them_are_converted()
    {
        var resolved = _registry.Resolve(Spec("MLP", ("Hidden", "64, 32"), ("dropout", "0.1"), ("classes", 5L)));

        Assert.Equal(new[] { 64, 32 }, resolved.Arguments["hidden"]);
        Assert.Equal(0.1, resolved.Arguments["dropout"]);
        Assert.Equal(5, resolved.Arguments["classes"]);
        Assert.Equal("mlp", resolved.Type);
    }

    [Fact]
    public void A_resolved_spec_survives_a_json_round_trip()
    {
        var resolved = _registry.Resolve(Spec("cnn", ("channels", new[] { 8, 16 })));

        var back = _registry.Resolve(ModelSpec.FromJson(resolved.ToJson()));

        Assert.Equal(resolved.ToJson(), back.ToJson());
    }

    [Fact]
    public void The_mlp_maps_a_batch_of_images_to_class_logits()
    {
        using var model = _registry.Create(Spec("mlp", ("hidden", new[] { 32 }), ("dropout", 0.2)));
        using var images = randn(4, 1, 28, 28);

        using var logits = model.Module.call(images);

        Assert.Equal([4L, 10], logits.shape);
        Assert.Equal(784 * 32 + 32 + 32 * 10 + 10, model.ParameterCount);
    }

    [Fact]
    public void The_cnn_maps_a_batch_of_images_to_class_logits()
    {
        using var model = _registry.Create(Spec("cnn"));
        using var images = randn(4, 1, 28, 28);

        using var logits = model.Module.call(images);

        Assert.Equal([4L, 10], logits.shape);
        Assert.Equal([32, 64], (int[])model.Spec.Arguments["channels"]!);
    }

    [Fact]
    public void A_cnn_with_too_many_pooling_blocks_for_its_image_is_refused()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => _registry.Create(Spec("cnn", ("image_size", 4), ("channels", new[] { 4, 4, 4 }))));

        Assert.Contains("image_size", error.Message);
    }

    [Fact]
    public void A_user_module_registered_by_type_is_built_from_snake_case_arguments()
    {
        var registry = new ModelRegistry().Register<TinyNet>("tiny");

        using var model = registry.Create(Spec("tiny", ("hidden_size", 3)));

        Assert.Equal("tiny(hidden_size=3, inputs=4, scale=1)", model.Spec.ToString());
        Assert.Equal(3, ((TinyNet)model.Module).HiddenSize);
    }

    [Fact]
    public void A_user_module_without_a_required_argument_is_refused()
    {
        var registry = new ModelRegistry().Register<TinyNet>("tiny");

        var error = Assert.Throws<ModelConfigurationException>(() => registry.Resolve(Spec("tiny")));

        Assert.Contains("argument 'hidden_size' is required", error.Message);
    }

    [Fact]
    public void Registering_the_same_name_twice_is_refused()
    {
        var registry = new ModelRegistry().Register<MlpClassifier>("mlp");

        var error = Assert.Throws<ArgumentException>(() => registry.Register<ConvNetClassifier>("mlp"));

        Assert.Contains("already registered", error.Message);
    }

    [Fact]
    public void A_catalogs_models_are_not_changed_behind_the_runs_that_share_them()
    {
        var error = Assert.Throws<InvalidOperationException>(() => _registry.Register<TinyNet>("tiny"));

        Assert.Contains("[Component(\"tiny\")]", error.Message);
    }

    public sealed class TinyNet : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Linear _layer;

        public TinyNet(int hiddenSize, long inputs = 4, float scale = 1f) : base(nameof(TinyNet))
        {
            HiddenSize = hiddenSize;
            _layer = Linear(inputs, hiddenSize);
            RegisterComponents();
        }

        public int HiddenSize { get; }

        public override Tensor forward(Tensor input) => _layer.forward(input);
    }
}
