using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class ResolvedHoconTests
{
    static readonly string Rich = Lines(
        "name = \"rich \\\"quoted\\\" name\"",
        "seed = 3",
        "device = \"cuda:0\"",
        "epochs = 4",
        "batch-size = 16",
        "eval-batch-size = 100",
        "model {",
        "  type = cnn",
        "  args { channels = [8, 16], hidden = 32, dropout = 1.0, scale = 1e-7, batch-norm = true, act = gelu, mixed = [1, 2.5, x] }",
        "}",
        "data { dataset = fashion-mnist, path = \"/data/fm\", train-limit = 10 }",
        "optimizer { type = adamw, lr = 0.0003, weight-decay = 0.01 }",
        "scheduler { type = cosine, t-max = 4 }",
        "task { type = multi-label, metrics = [f1-macro, f1-3, accuracy], threshold = 0.4 }",
        "checkpoint { best = val_f1-macro }",
        "gradient-clip = 2",
        "extensions = [ { type = progress, refresh-ms = 250 }, { type = loss-plot, every = 2, smooth = 0.5, title = \"a, b\" } ]");

    [Fact]
    public void The_resolved_hocon_loads_back_to_an_equal_experiment()
    {
        var first = ExperimentLoader.Parse(Rich, "rich.hocon", ["epochs=6", "model.args.hidden=[64]"]);

        var second = ExperimentLoader.Parse(first.ResolvedHocon, "resolved.hocon");

        AssertEquivalent(first, second);
        Assert.Equal(first.ResolvedHocon.Split('\n').Where(l => !l.StartsWith('#')), second.ResolvedHocon.Split('\n').Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void A_minimal_experiment_with_every_default_round_trips()
    {
        var first = ExperimentLoader.Parse(MinimalWith(), "minimal.hocon");

        AssertEquivalent(first, ExperimentLoader.Parse(first.ResolvedHocon, "minimal.hocon"));
    }

    [Fact]
    public void Whole_doubles_stay_doubles_through_the_round_trip()
    {
        var first = ExperimentLoader.Parse(Rich, "rich.hocon");

        var second = ExperimentLoader.Parse(first.ResolvedHocon);

        Assert.IsType<double>(second.Model.Arguments["dropout"]);
        Assert.Equal(1e-7, second.Model.Arguments["scale"]);
        Assert.IsType<long>(second.Model.Arguments["hidden"]);
    }

    [Fact]
    public void The_resolved_hocon_spells_out_defaults_and_records_the_source_and_overrides()
    {
        var e = ExperimentLoader.Parse(MinimalWith(), "exp.hocon", ["epochs=3"]);

        Assert.Contains("# Source: exp.hocon", e.ResolvedHocon);
        Assert.Contains("# Override: --set epochs=3", e.ResolvedHocon);
        Assert.Contains("epochs = 3\n", e.ResolvedHocon);
        Assert.Contains("  beta2 = 0.999\n", e.ResolvedHocon);
        Assert.Contains("  type = \"none\"\n", e.ResolvedHocon);
        Assert.Contains("runs-dir = \"runs\"\n", e.ResolvedHocon);
    }

    [Fact]
    public void A_run_of_an_experiment_built_in_code_records_a_file_that_loads_back_to_it()
    {
        var built = new Experiment
        {
            Name = "in-code", Epochs = 3, BatchSize = 8, Seed = 5,
            Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new List<object?> { 16L } }),
            Data = new DataSection { Type = "fashion-mnist", TrainLimit = 10 },
            Optimizer = new OptimizerSection { Type = "sgd", LearningRate = 0.5 },
            Extensions = [new ExtensionSection("progress", new Dictionary<string, object?>())],
        };

        var run = TrainManager.Training.RunDirectory.Create(built, TempDirectory());
        var reloaded = ExperimentLoader.Load(run.ExperimentFile);

        AssertEquivalent(built, reloaded);
    }

    [Fact]
    public void The_overrides_a_resolved_text_records_are_read_back_in_order()
    {
        var e = ExperimentLoader.Parse(MinimalWith(), "exp.hocon", ["epochs=3", "model.args:={hidden=[8]}", "name=a=b"]);

        Assert.Equal(e.Overrides, ExperimentHoconWriter.RecordedOverrides(e.ResolvedHocon));
    }

    static void AssertEquivalent(Experiment expected, Experiment actual)
    {
        // The record compares collections by reference; compare them by content and the rest by value.
        static Experiment Scalars(Experiment e) => e with
        {
            SourceFile = null, ResolvedHocon = "", Overrides = NoOverrides, Extensions = NoExtensions, Model = NoModel, Task = NoTask,
        };
        Assert.Equal(Scalars(expected), Scalars(actual));
        Assert.Equal(expected.Model.Type, actual.Model.Type);
        AssertSameValues(expected.Model.Arguments, actual.Model.Arguments);
        Assert.Equal(expected.Task.Type, actual.Task.Type);
        Assert.Equal(expected.Task.Metrics, actual.Task.Metrics);
        AssertSameValues(expected.Task.Settings, actual.Task.Settings);
        Assert.Equal(expected.Extensions.Count, actual.Extensions.Count);
        foreach (var (e, a) in expected.Extensions.Zip(actual.Extensions))
        {
            Assert.Equal(e.Type, a.Type);
            AssertSameValues(e.Settings, a.Settings);
        }
    }

    static void AssertSameValues(IReadOnlyDictionary<string, object?> expected, IReadOnlyDictionary<string, object?> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, value) in expected)
        {
            Assert.Equal(value?.GetType(), actual[key]?.GetType());
            Assert.Equal(value, actual[key]);
        }
    }

    static readonly IReadOnlyList<KeyValuePair<string, string>> NoOverrides = [];
    static readonly IReadOnlyList<ExtensionSection> NoExtensions = [];
    static readonly ModelSection NoModel = new("", new Dictionary<string, object?>());
    static readonly TaskSection NoTask = new();
}
