using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class ExperimentLoaderTests
{
    static readonly string Full = Lines(
        "# every entry of the schema",
        "name = full-experiment",
        "seed = 7",
        "device = \"cuda:1\"",
        "epochs = 12",
        "batch-size = 64",
        "eval-batch-size = 500",
        "threads = 2",
        "model {",
        "  type = cnn",
        "  args { channels = [16, 32], hidden = 96, dropout = 0.5, batch-norm = false, activation = relu }",
        "}",
        "data { dataset = fashion-mnist, path = /data/fm, train-limit = 1000, test-limit = 200 }",
        "optimizer { type = sgd, lr = 0.1, momentum = 0.9, nesterov = true, weight-decay = 0.0005, beta1 = 0.8, beta2 = 0.99 }",
        "scheduler { type = step, step-size = 3, gamma = 0.5, t-max = 4, min-lr = 0.0001 }",
        "gradient-clip = 1.5",
        "accumulate = 4",
        "checkpoint { every-epochs = 2, keep = 5 }",
        "extensions = [",
        "  { type = progress }",
        "  { type = loss-plot, every = 2, smooth = 0.9, title = \"Loss\", log-scale = true, sizes = [640, 480] }",
        "]",
        "workers = 3",
        "runs-dir = out/runs");

    [Fact]
    public void A_valid_file_sets_every_entry_of_the_record()
    {
        var e = ExperimentLoader.Parse(Full, "full.hocon", components: TestComponents.Catalog);

        Assert.Equal("full-experiment", e.Name);
        Assert.Equal("full.hocon", e.SourceFile);
        Assert.Equal(7, e.Seed);
        Assert.Equal("cuda:1", e.Device);
        Assert.Equal(12, e.Epochs);
        Assert.Equal(64, e.BatchSize);
        Assert.Equal(500, e.EvalBatchSize);
        Assert.Equal(2, e.Threads);
        Assert.Equal("cnn", e.Model.Type);
        Assert.Equal(new List<object?> { 16L, 32L }, e.Model.Arguments["channels"]);
        Assert.Equal(96L, e.Model.Arguments["hidden"]);
        Assert.Equal(0.5, e.Model.Arguments["dropout"]);
        Assert.Equal(false, e.Model.Arguments["batch-norm"]);
        Assert.Equal("relu", e.Model.Arguments["activation"]);
        Assert.Equal(new DataSection { Type = "fashion-mnist", Path = "/data/fm", TrainLimit = 1000, TestLimit = 200 }, e.Data);
        Assert.Equal(new OptimizerSection { Type = "sgd", LearningRate = 0.1, Momentum = 0.9, Nesterov = true, WeightDecay = 0.0005, Beta1 = 0.8, Beta2 = 0.99 },
            e.Optimizer);
        Assert.Equal(new SchedulerSection { Type = "step", StepSize = 3, Gamma = 0.5, TMax = 4, MinLearningRate = 0.0001 }, e.Scheduler);
        Assert.Equal(1.5, e.GradientClip);
        Assert.Equal(4, e.Accumulate);
        Assert.Equal(new CheckpointSection { EveryEpochs = 2, Keep = 5, Best = "accuracy", BestMode = "max" }, e.Checkpoint);
        Assert.Equal(["progress", "loss-plot"], e.Extensions.Select(x => x.Type));
        Assert.Empty(e.Extensions[0].Settings);
        var plot = e.Extensions[1].Settings;
        Assert.Equal(2L, plot["every"]);
        Assert.Equal(0.9, plot["smooth"]);
        Assert.Equal("Loss", plot["title"]);
        Assert.Equal(true, plot["log-scale"]);
        Assert.Equal(new List<object?> { 640L, 480L }, plot["sizes"]);
        Assert.False(plot.ContainsKey("type"));
        Assert.Equal(3, e.Workers);
        Assert.Equal("out/runs", e.RunsDirectory);
    }

    [Fact]
    public void Optional_entries_take_the_record_defaults_and_the_name_comes_from_the_file()
    {
        var e = ExperimentLoader.Parse(MinimalWith(), "experiments/quick-try.hocon", components: TestComponents.Catalog);

        Assert.Equal("quick-try", e.Name);
        Assert.Equal(42, e.Seed);
        Assert.Equal("cpu", e.Device);
        Assert.Null(e.EvalBatchSize);
        Assert.Empty(e.Model.Arguments);
        Assert.Equal(new OptimizerSection(), e.Optimizer);
        Assert.Equal(new SchedulerSection(), e.Scheduler);
        Assert.Equal(new CheckpointSection { Best = "accuracy", BestMode = "max" }, e.Checkpoint); // the default task's first metric
        Assert.Equal(1, e.Accumulate);
        Assert.Empty(e.Extensions);
        Assert.Equal("runs", e.RunsDirectory);
    }

    [Fact]
    public void Dotted_keys_and_nested_blocks_mean_the_same()
    {
        var dotted = ExperimentLoader.Parse(Lines("epochs = 1", "batch-size = 8", "model.type = mlp", "model.args.hidden = [10]",
            "data.dataset = fashion-mnist", "optimizer.lr = 0.01"));

        Assert.Equal("mlp", dotted.Model.Type);
        Assert.Equal(new List<object?> { 10L }, dotted.Model.Arguments["hidden"]);
        Assert.Equal(0.01, dotted.Optimizer.LearningRate);
    }

    [Theory]
    [InlineData("extensions = []")]
    [InlineData("extensions = [ ]")]
    [InlineData("extensions = [\n]")]
    public void An_empty_list_is_empty_however_it_is_spaced(string line)
    {
        var e = ExperimentLoader.Parse(MinimalWith(line, line.Replace("extensions", "model.args.hidden")));

        Assert.Empty(e.Extensions);
        Assert.Equal(new List<object?>(), e.Model.Arguments["hidden"]);
    }

    [Theory]
    [InlineData("optimiser { lr = 0.1 }", "optimiser", "Did you mean 'optimizer'?")]
    [InlineData("epoch = 3", "epoch", "Did you mean 'epochs'?")]
    [InlineData("batch_size = 3", "batch_size", "Did you mean 'batch-size'?")]
    [InlineData("colour = red", "colour", "Known keys at the top level: name, seed")]
    public void An_unknown_top_level_key_names_its_line_and_suggests_the_known_one(string line, string key, string hint)
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith(line), "exp.hocon"));

        Assert.Equal(5, error.Line);
        Assert.Equal(key, error.KeyPath);
        Assert.StartsWith("exp.hocon, line 5: unknown key", error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void An_unknown_key_inside_a_block_is_found_on_its_own_line()
    {
        var text = Lines("epochs = 2", "batch-size = 32", "model { type = mlp }", "data { dataset = fashion-mnist }", "checkpoint {", "  every-epoch = 2", "}");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal(6, error.Line);
        Assert.Equal("checkpoint.every-epoch", error.KeyPath);
        Assert.Contains("Did you mean 'every-epochs'?", error.Message);
        Assert.Contains("Known keys in 'checkpoint': every-epochs, keep", error.Message);
    }

    [Fact]
    public void An_unknown_key_written_with_dots_is_found_on_its_line()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("", "model.typ = cnn"), "exp.hocon"));

        Assert.Equal(6, error.Line);
        Assert.Equal("model.typ", error.KeyPath);
        Assert.Contains("Did you mean 'type'?", error.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_line_the_key_and_an_example()
    {
        var text = Lines("name = typo", "epochs = \"ten\"", "batch-size = 32", "model { type = mlp }", "data { dataset = fashion-mnist }");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal(2, error.Line);
        Assert.Equal("epochs", error.KeyPath);
        Assert.Equal("exp.hocon, line 2: 'epochs' must be a whole number, but is \"ten\". Write e.g. epochs = 10. Numbers are written without quotes or units.",
            error.Message);
    }

    [Theory]
    [InlineData("optimizer {\n  lr = fast\n}", 6, "optimizer.lr", "must be a number")]
    [InlineData("optimizer.nesterov = maybe", 5, "optimizer.nesterov", "must be true or false")]
    [InlineData("gradient-clip = [1, 2]", 5, "gradient-clip", "must be a number, but is a list")]
    [InlineData("checkpoint = 3", 5, "checkpoint", "must be a block")]
    [InlineData("batch-size = 2.5", 5, "batch-size", "must be a whole number")]
    [InlineData("extensions = progress", 5, "extensions", "must be a list of blocks")]
    [InlineData("extensions = [ progress ]", 5, "extensions[0]", "each extension is a block with a type")]
    [InlineData("model.args.layers { a = 1 }", 5, "model.args.layers", "model arguments must be numbers, booleans, text or lists")]
    public void Wrong_types_in_nested_entries_are_located(string lines, int line, string keyPath, string message)
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith(lines), "exp.hocon"));

        Assert.Equal(line, error.Line);
        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_missing_required_top_level_entry_names_the_file_and_what_to_add()
    {
        var text = Lines("epochs = 2", "model { type = mlp }", "data { dataset = fashion-mnist }");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Null(error.Line);
        Assert.Equal("batch-size", error.KeyPath);
        Assert.Equal("exp.hocon: 'batch-size' is required but missing. Add it, e.g. batch-size = 128.", error.Message);
    }

    [Fact]
    public void A_missing_required_entry_of_a_block_points_at_the_block()
    {
        var text = Lines("epochs = 2", "batch-size = 32", "", "model {", "  args { hidden = [10] }", "}", "data { dataset = fashion-mnist }");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal(4, error.Line);
        Assert.Equal("model.type", error.KeyPath);
        Assert.Contains("'model.type' is required but missing. Add it inside 'model', e.g. model { type = cnn }.", error.Message);
    }

    [Fact]
    public void A_missing_extension_type_points_at_the_extension()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            ExperimentLoader.Parse(MinimalWith("extensions = [", "  { type = progress }", "  { every = 2 }", "]"), "exp.hocon"));

        Assert.Equal(7, error.Line);
        Assert.Equal("extensions[1].type", error.KeyPath);
    }

    [Theory]
    [InlineData("epochs = 0", "epochs", "'epochs' must be at least 1, but is 0.")]
    [InlineData("batch-size = -4", "batch-size", "'batch-size' must be at least 1, but is -4.")]
    [InlineData("accumulate = 0", "accumulate", "'accumulate' must be at least 1")]
    [InlineData("optimizer.lr = 0", "optimizer.lr", "'optimizer.lr' must be greater than 0, but is 0")]
    [InlineData("optimizer.lr = -0.1", "optimizer.lr", "'optimizer.lr' must be greater than 0, but is -0.1")]
    [InlineData("optimizer.type = adma", "optimizer.type", "must be one of adam, adamw, sgd, but is \"adma\". Did you mean 'adam'?")]
    [InlineData("scheduler.type = cosin", "scheduler.type", "must be one of cosine, none, step, but is \"cosin\". Did you mean 'cosine'?")]
    [InlineData("device = gpu", "device", "'device' must be cpu, cuda or cuda:N")]
    [InlineData("device = \"cuda:x\"", "device", "'device' must be cpu, cuda or cuda:N")]
    public void Values_out_of_range_are_refused_on_their_line(string line, string keyPath, string message)
    {
        // With the components known, as the CLI and the nodes read experiments: optimizer and schedule names are theirs.
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith(line), "exp.hocon", components: TestComponents.Catalog));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.Equal(5, error.Line);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    [InlineData("\"cuda:1\"")]
    public void Known_devices_are_accepted(string device) =>
        Assert.Equal(device.Trim('"'), ExperimentLoader.Parse(MinimalWith($"device = {device}")).Device);

    [Fact]
    public void An_unknown_extension_type_is_refused_with_its_line_when_the_known_types_are_given()
    {
        var text = MinimalWith("extensions = [", "  { type = progres }", "]");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon", components: TestComponents.Catalog));

        Assert.Equal(6, error.Line);
        Assert.Equal("extensions[0].type", error.KeyPath);
        Assert.Contains("unknown extension type 'progres'. Did you mean 'progress'? Known types: gradient-plot, leakage-check, loss-plot, pace, progress, provenance, report, tensorboard.", error.Message);
    }

    [Theory]
    [InlineData(new[] { "epochs = 2", "model {", "  type = mlp", "data { dataset = x }" }, 2, "the '{' on this line is never closed")]
    [InlineData(new[] { "epochs = 2", "model { type = mlp } }" }, 2, "this '}' closes no block")]
    [InlineData(new[] { "epochs = 2", "name = \"unfinished" }, 2, "not closed on the same line")]
    [InlineData(new[] { "epochs = 2", "", "batch-size =" }, 3, "'batch-size' has no value")]
    [InlineData(new[] { "epochs = 2", "model.args.hidden = [64, 32", "data { dataset = x }" }, 2, "the '[' on this line is never closed")]
    [InlineData(new[] { "device = cuda:0" }, 1, "put the whole value in double quotes")]
    [InlineData(new[] { "epochs = 2", "just some words" }, 2, "is not followed by '=' and a value")]
    public void Malformed_hocon_is_refused_with_the_line_of_the_problem(string[] lines, int line, string message)
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(Lines(lines), "bad.hocon"));

        Assert.Equal(line, error.Line);
        Assert.StartsWith($"bad.hocon, line {line}: this is not valid HOCON: ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Comments_and_quoted_braces_do_not_disturb_line_numbers()
    {
        var text = Lines("# model { type = ignored", "name = \"a { b\" // not a block", "epochs = 2", "batch-size = 32",
            "model { type = mlp }", "data { dataset = fashion-mnist }", "threads = many");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal("a { b", ExperimentLoader.Parse(text.Replace("threads = many", ""), "exp.hocon").Name);
        Assert.Equal(7, error.Line);
    }

    [Fact]
    public void Load_of_a_missing_file_says_where_it_looked_and_what_to_do()
    {
        var missing = Path.Combine(TempDirectory(), "nope.hocon");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Load(missing));

        Assert.Contains($"experiment file '{missing}' not found", error.Message);
        Assert.Contains("examples/fashion-mnist-cnn.hocon", error.Message);
    }

    [Fact]
    public void Errors_in_a_loaded_file_name_the_path_as_given()
    {
        var file = Path.Combine(TempDirectory(), "typo.hocon");
        File.WriteAllText(file, MinimalWith("epochs = ten"));

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Load(file));

        Assert.Equal(file, error.Origin);
        Assert.StartsWith($"{file}, line 5: 'epochs' must be a whole number", error.Message);
    }

    [Fact]
    public void A_relative_data_path_in_a_file_is_relative_to_the_file()
    {
        var folder = TempDirectory();
        var file = Path.Combine(folder, "exp.hocon");
        File.WriteAllText(file, MinimalWith("data.path = ../slices/fm"));

        var e = ExperimentLoader.Load(file);

        Assert.Equal(Path.GetFullPath(Path.Combine(folder, "..", "slices", "fm")), e.Data.Path);
        Assert.Equal(file, e.SourceFile);
    }

    [Fact]
    public void A_relative_data_path_given_with_set_is_relative_to_the_current_directory()
    {
        var file = Path.Combine(TempDirectory(), "exp.hocon");
        File.WriteAllText(file, MinimalWith("data.path = from-the-file"));

        var e = ExperimentLoader.Load(file, ["data.path=data/fm"]);

        Assert.Equal(Path.GetFullPath("data/fm"), e.Data.Path);
    }

    [Fact]
    public void The_committed_examples_load()
    {
        var root = RepositoryRoot;
        var cnn = ExperimentLoader.Load(Path.Combine(root, "examples", "fashion-mnist-cnn.hocon"));
        var mlp = ExperimentLoader.Load(Path.Combine(root, "examples", "fashion-mnist-mlp.hocon"));

        Assert.Equal(("cnn", 10, 128, "adam", 0.001, "cosine", 42L, "cpu"),
            (cnn.Model.Type, cnn.Epochs, cnn.BatchSize, cnn.Optimizer.Type, cnn.Optimizer.LearningRate, cnn.Scheduler.Type, cnn.Seed, cnn.Device));
        Assert.Equal(new List<object?> { 32L, 64L }, cnn.Model.Arguments["channels"]);
        Assert.Equal(128L, cnn.Model.Arguments["hidden"]);
        Assert.Equal(0.25, cnn.Model.Arguments["dropout"]);
        Assert.Equal("fashion-mnist", cnn.Data.Type);
        Assert.Equal(["progress", "loss-plot", "gradient-plot", "tensorboard", "provenance", "leakage-check", "report"], cnn.Extensions.Select(x => x.Type));
        Assert.Equal(("mlp", 10), (mlp.Model.Type, mlp.Epochs));
        Assert.Equal(new List<object?> { 256L, 128L }, mlp.Model.Arguments["hidden"]);
        Assert.Equal(0.2, mlp.Model.Arguments["dropout"]);
    }

    [Fact]
    public void The_slice_experiment_for_cli_tests_points_at_the_committed_slice()
    {
        var e = ExperimentLoader.Load(Path.Combine(RepositoryRoot, "Tests", "TestData", "experiments", "mlp-slice.hocon"));

        Assert.Equal(1, e.Epochs);
        Assert.Equal(Path.Combine(RepositoryRoot, "Tests", "TestData", "fashion-mnist-slice"), e.Data.Path);
        Assert.True(File.Exists(Path.Combine(e.Data.Path!, "train-images-idx3-ubyte.gz")), $"no slice in {e.Data.Path}");
    }
}
