using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Extensions.Plots;
using TrainManager.Extensions.Report;
using TrainManager.Tests.Training;

namespace TrainManager.Tests.Extensions.Plots;

/// <summary>An experiment names the plot and report extensions with kebab-case settings.</summary>
public sealed class PlotAndReportCatalogTests
{
    private static readonly ComponentCatalog Catalog = TestComponents.Catalog;
    private static readonly ExtensionContext Context = new(null, TrainingFixtures.Mlp(Path.GetTempPath()));

    private static ExtensionSection Section(string type, params (string Key, object? Value)[] settings) =>
        new(type, settings.ToDictionary(s => s.Key, s => s.Value));

    [Fact]
    public void Loss_plot_settings_map_to_its_options()
    {
        var extension = Assert.IsType<LossPlotExtension>(Catalog.CreateExtension(
            Section("loss-plot", ("refresh-every-batches", 50L), ("worst", 5L), ("min-render-seconds", 1.5)), Context));

        Assert.Equal(50, extension.Options.RefreshEveryBatches);
        Assert.Equal(5, extension.Options.Worst);
        Assert.Equal(TimeSpan.FromSeconds(1.5), extension.Options.MinRenderInterval);
    }

    [Fact]
    public void Gradient_plot_settings_map_to_its_options()
    {
        var extension = Assert.IsType<GradientPlotExtension>(Catalog.CreateExtension(Section("gradient-plot",
            ("every", 25L), ("vanish-threshold", 1e-9), ("explode-threshold", 50.0), ("histogram-every", 1000L),
            ("histogram-steps", new List<object?> { 0L, 500L })), Context));

        Assert.Equal(25, extension.Options.Every);
        Assert.Equal(1e-9, extension.Options.VanishThreshold);
        Assert.Equal(50, extension.Options.ExplodeThreshold);
        Assert.Equal(1000, extension.Options.HistogramEvery);
        Assert.Equal([0L, 500L], extension.Options.HistogramSteps);
    }

    [Fact]
    public void Histogram_steps_that_are_not_a_list_of_steps_are_an_experiment_error_naming_the_setting()
    {
        var e = Assert.Throws<ExperimentException>(() => Catalog.CreateExtension(
            Section("gradient-plot", ("histogram-steps", new List<object?> { 0L, "last" })), Context));

        Assert.Contains("histogram-steps", e.Message);
    }

    [Fact]
    public void The_report_takes_no_settings_and_its_experiment_name_from_the_experiment()
    {
        Assert.IsType<RunReportExtension>(Catalog.CreateExtension(Section("report"), Context));
        var e = Assert.Throws<ExperimentException>(() => Catalog.CreateExtension(Section("report", ("theme", "dark")), Context));
        Assert.Contains("theme", e.Message);
    }
}
