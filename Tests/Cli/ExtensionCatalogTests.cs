using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Progress;
using TrainManager.Stages;

namespace TrainManager.Tests.Cli;

public sealed class ExtensionCatalogTests
{
    sealed class Marker(int every) : Extension
    {
        public int Every { get; } = every;
    }

    static readonly Experiment Experiment = ExperimentLoader.Parse(
        "epochs = 1\nbatch-size = 8\nmodel.type = mlp\ndata.dataset = fashion-mnist\nextensions = [ { type = marker, every = 3 }, { type = progress, mode = lines } ]\n",
        "exp.hocon");

    static ExtensionContext Context => new("/tmp/run", Experiment);

    // Only the types under test, so the messages do not change when built-ins are added.
    static ExtensionCatalog Catalog()
    {
        var console = new RecordingConsole().Console;
        return new ExtensionCatalog()
            .Register("marker", (section, _) => new Marker(section.GetInt("every", 1)), settings: ["every"])
            .Register("progress", (section, _) => ProgressExtension.FromSettings(section, console), ProgressExtension.SettingNames);
    }

    [Fact]
    public void The_built_ins_include_progress() => Assert.Contains("progress", ExtensionCatalog.WithBuiltIns().Names);

    [Fact]
    public void CreateAll_builds_each_named_extension_in_order_with_its_settings()
    {
        var extensions = Catalog().CreateAll(Context);

        Assert.Equal(3, Assert.IsType<Marker>(extensions[0]).Every);
        Assert.False(Assert.IsType<ProgressExtension>(extensions[1]).IsLive);
    }

    [Fact]
    public void An_unknown_type_lists_the_known_names_and_suggests_the_closest()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            Catalog().Create(new ExtensionSection("markr", new Dictionary<string, object?>()), Context));

        Assert.Equal("exp.hocon: unknown extension type 'markr'. Did you mean 'marker'? Known types: marker, progress.", error.Message);
    }

    [Fact]
    public void An_unknown_setting_of_a_type_that_declares_its_settings_is_refused()
    {
        var section = Experiment.Extensions[0] with { Settings = new Dictionary<string, object?> { ["evry"] = 2L } };

        var error = Assert.Throws<ExperimentException>(() => Catalog().Create(section, Context));

        Assert.Contains("extension 'marker' has no setting 'evry'. Did you mean 'every'? Its settings: every.", error.Message);
    }

    [Fact]
    public void A_setting_of_the_wrong_type_names_the_extension_and_the_setting()
    {
        var section = new ExtensionSection("marker", new Dictionary<string, object?> { ["every"] = "often" });

        var error = Assert.Throws<ExperimentException>(() => Catalog().Create(section, Context));

        Assert.Contains("extension 'marker': setting 'every' must be a whole number, but is \"often\"", error.Message);
    }

    [Fact]
    public void A_factory_refusing_its_settings_becomes_an_experiment_error()
    {
        var section = new ExtensionSection("progress", new Dictionary<string, object?> { ["refresh-ms"] = 1L });

        var error = Assert.Throws<ExperimentException>(() => Catalog().Create(section, Context));

        Assert.Contains("extension 'progress' cannot be created from its settings: refresh-ms must be at least 10", error.Message);
    }

    [Theory]
    [InlineData("progress", "already registered")]
    [InlineData("Loss_Plot", "must be kebab-case")]
    public void Register_refuses_taken_and_malformed_names(string name, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => Catalog().Register(name, (_, _) => new Marker(1)));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_context_says_what_to_do_when_an_extension_needs_a_run_directory_and_there_is_none()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ExtensionContext(null, Experiment).RequireRunDirectory("loss-plot"));

        Assert.Contains("RunDirectory.Create", error.Message);
    }
}

public sealed class ExtensionSettingsTests
{
    [Fact]
    public void A_whole_number_is_accepted_for_a_number_setting()
    {
        var section = new TrainManager.Experiments.ExtensionSection("gradient-plot",
            new Dictionary<string, object?> { ["explode-threshold"] = 1000L, ["vanish"] = 2 });
        Assert.Equal(1000.0, TrainManager.Extensions.ExtensionSettings.GetDouble(section, "explode-threshold", 1.0));
        Assert.Equal(2.0, TrainManager.Extensions.ExtensionSettings.GetDouble(section, "vanish", 1.0));
    }
}
