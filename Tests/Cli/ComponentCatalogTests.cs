using Spectre.Console;
using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Progress;
using TrainManager.Models;
using TrainManager.Stages;

namespace TrainManager.Tests.Cli;

public sealed class ComponentCatalogTests
{
    [Component("marker", Description = "a test extension")]
    public sealed class Marker(int every = 1, string label = "m", ExtensionContext? context = null) : Extension
    {
        public int Every { get; } = every;
        public string Label { get; } = label;
        public ExtensionContext? Context { get; } = context;
    }

    public static class Factories
    {
        [Component("strict-marker")]
        public static Marker Strict([Setting("how often", Default = 7)] int every = 0) =>
            every > 0 ? new Marker(every) : throw new ArgumentException("every must be positive, e.g. every = 5.");
    }

    public static class OwnOptimizer
    {
        [Component("plain-sgd")]
        public static TorchSharp.Modules.OptimizerHelper Create(TrainManager.Training.OptimizerTarget target, OptimizerSection settings) =>
            new TrainManager.Training.Optimizers.SGD(TrainManager.Training.OptimizerFactory.Checked(target, settings), settings.LearningRate);
    }

    [Component("Bad_Name")]
    public sealed class BadlyNamed : Extension;

    [Component("marker")]
    public sealed class SecondMarker : Extension;

    [Component("needs-clock")]
    public sealed class NeedsClock(TimeProvider clock) : Extension
    {
        public TimeProvider Clock { get; } = clock;
    }

    static readonly Experiment Experiment = ExperimentLoader.Parse(
        "epochs = 1\nbatch-size = 8\nmodel.type = mlp\ndata.dataset = fashion-mnist\nextensions = [ { type = marker, every = 3 }, { type = progress, mode = lines } ]\n",
        "exp.hocon");

    static ExtensionContext Context => new("/tmp/run", Experiment);

    // Only the types under test, so the messages do not change when built-ins are added.
    static ComponentCatalog Catalog() => ComponentCatalog.Discover([]).WithTypes(typeof(Marker), typeof(Factories), typeof(ProgressExtension));

    static ComponentServices Quiet => ComponentServices.Empty.With(new RecordingConsole().Console);

    [Fact]
    public void The_built_ins_are_found_by_their_attributes()
    {
        var catalog = BuiltInComponents.Catalog();

        Assert.Equal(["cnn", "mlp"], catalog.Names(ComponentKind.Model));
        Assert.Equal(["gradient-plot", "leakage-check", "loss-plot", "progress", "provenance", "report", "tensorboard"],
            catalog.Names(ComponentKind.Extension));
    }

    [Fact]
    public void Optimizers_and_schedules_are_components_and_a_projects_own_is_built_like_the_built_ins()
    {
        var catalog = BuiltInComponents.Catalog().WithTypes(typeof(OwnOptimizer));
        using var layer = TorchSharp.torch.nn.Linear(3, 2);

        using var optimizer = catalog.CreateOptimizer(new OptimizerSection { Type = "plain-sgd", LearningRate = 0.2 }, layer.parameters());

        Assert.Equal(["adam", "adamw", "plain-sgd", "sgd"], catalog.Names(ComponentKind.Optimizer));
        Assert.Equal(["cosine", "none", "step"], catalog.Names(ComponentKind.Scheduler));
        Assert.IsType<TrainManager.Training.Optimizers.SGD>(optimizer);
        Assert.Equal(0.2, optimizer.ParamGroups.First().LearningRate, 6);
    }

    [Fact]
    public void A_built_in_model_keeps_its_list_default_and_descriptions()
    {
        var hidden = BuiltInComponents.Catalog().Find(ComponentKind.Model, "mlp").Settings.Single(s => s.Name == "hidden");

        Assert.Equal([256, 128], (int[])hidden.Default!);
        Assert.Equal("width of each hidden layer", hidden.Description);
    }

    [Fact]
    public void CreateExtensions_builds_each_named_extension_in_order_with_its_settings()
    {
        var extensions = Catalog().CreateExtensions(Context, Quiet);

        Assert.Equal(3, Assert.IsType<Marker>(extensions[0]).Every);
        Assert.False(Assert.IsType<ProgressExtension>(extensions[1]).IsLive);
    }

    [Fact]
    public void An_extension_gets_the_run_context_as_a_service()
    {
        var marker = Assert.IsType<Marker>(Catalog().CreateExtension(Experiment.Extensions[0], Context));

        Assert.Equal("/tmp/run", marker.Context?.RunDirectory);
        Assert.Equal("m", marker.Label);
    }

    [Fact]
    public void Settings_are_kebab_case_and_accept_the_other_spellings()
    {
        var definition = BuiltInComponents.Catalog().Find(ComponentKind.Extension, "loss-plot");
        var errors = new List<string>();

        var resolved = definition.Resolve(new Dictionary<string, object?> { ["refresh_every_batches"] = 5L, ["minRenderSeconds"] = 2L }, errors);

        Assert.Empty(errors);
        Assert.Equal(5, resolved["refresh-every-batches"]);
        Assert.Equal(2.0, resolved["min-render-seconds"]);
    }

    [Fact]
    public void A_factory_method_is_a_component_and_its_setting_attribute_gives_the_default()
    {
        var marker = Assert.IsType<Marker>(Catalog().CreateExtension(new ExtensionSection("strict-marker", new Dictionary<string, object?>()), Context));

        Assert.Equal(7, marker.Every);
    }

    [Fact]
    public void An_unknown_type_lists_the_known_names_suggests_the_closest_and_says_how_to_add_one()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            Catalog().CreateExtension(new ExtensionSection("markr", new Dictionary<string, object?>()), Context));

        Assert.StartsWith("exp.hocon: unknown extension type 'markr'. Did you mean 'marker'? Known types: marker, progress, strict-marker.", error.Message);
        Assert.Contains("[Component(\"markr\")]", error.Message);
    }

    [Fact]
    public void An_unknown_setting_is_refused_with_the_closest_and_the_list()
    {
        var section = Experiment.Extensions[0] with { Settings = new Dictionary<string, object?> { ["evry"] = 2L } };

        var error = Assert.Throws<ExperimentException>(() => Catalog().CreateExtension(section, Context));

        Assert.Contains("extension 'marker': unknown setting 'evry' (did you mean 'every'?). Its settings: every (integer, default 1), label (string, default \"m\").", error.Message);
    }

    [Fact]
    public void A_setting_of_the_wrong_type_names_the_extension_and_the_setting()
    {
        var section = new ExtensionSection("marker", new Dictionary<string, object?> { ["every"] = "often" });

        var error = Assert.Throws<ExperimentException>(() => Catalog().CreateExtension(section, Context));

        Assert.Contains("extension 'marker': setting 'every' expected an integer, got \"often\"", error.Message);
    }

    [Fact]
    public void A_component_refusing_its_settings_becomes_an_experiment_error()
    {
        var section = new ExtensionSection("progress", new Dictionary<string, object?> { ["refresh-ms"] = 1L });

        var error = Assert.Throws<ExperimentException>(() => Catalog().CreateExtension(section, Context, Quiet));

        Assert.Contains("extension 'progress' cannot be created from its settings: refresh-ms must be at least 10", error.Message);
    }

    [Fact]
    public void Two_components_of_a_kind_with_one_name_are_refused_naming_both()
    {
        var error = Assert.Throws<ComponentDeclarationException>(() => Catalog().WithTypes(typeof(SecondMarker)));

        Assert.Contains("Two extensions are named 'marker'", error.Message);
        Assert.Contains(nameof(SecondMarker), error.Message);
    }

    [Fact]
    public void A_name_that_is_not_kebab_case_is_refused()
    {
        var error = Assert.Throws<ComponentDeclarationException>(() => Catalog().WithTypes(typeof(BadlyNamed)));

        Assert.Contains("kebab-case", error.Message);
    }

    [Fact]
    public void A_service_nobody_provides_is_named_with_what_to_do()
    {
        var catalog = Catalog().WithTypes(typeof(NeedsClock));

        var error = Assert.Throws<ComponentServiceMissingException>(() =>
            catalog.CreateExtension(new ExtensionSection("needs-clock", new Dictionary<string, object?>()), Context));

        Assert.Contains("asks for a TimeProvider ('clock')", error.Message);
    }

    [Fact]
    public void A_service_the_entry_point_provides_is_handed_in()
    {
        var catalog = Catalog().WithTypes(typeof(NeedsClock));

        var extension = catalog.CreateExtension(new ExtensionSection("needs-clock", new Dictionary<string, object?>()), Context,
            ComponentServices.Empty.With(TimeProvider.System));

        Assert.Same(TimeProvider.System, Assert.IsType<NeedsClock>(extension).Clock);
    }

    [Fact]
    public void An_unknown_model_says_how_to_declare_one()
    {
        var error = Assert.Throws<ModelConfigurationException>(() => BuiltInComponents.Catalog().Models.Resolve(new ModelSpec("resnet")));

        Assert.Contains("Registered types: cnn, mlp", error.Message);
        Assert.Contains("[Component(\"name\")]", error.Message);
    }

    [Fact]
    public void The_context_says_what_to_do_when_an_extension_needs_a_run_directory_and_there_is_none()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ExtensionContext(null, Experiment).RequireRunDirectory("loss-plot"));

        Assert.Contains("RunDirectory.Create", error.Message);
    }
}
