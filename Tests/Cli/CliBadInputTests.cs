using TrainManager.Cli;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary>Wrong command lines and experiments: exit code 2, one clear message, no stack trace, no run directory.</summary>
public sealed class CliBadInputTests
{
    readonly RecordingConsole _console = new();

    int Run(params string[] args) => TrainManagerApp.Run(args, _console.Console);

    void AssertNoStackTrace() => Assert.DoesNotContain("   at ", _console.Output);

    static void AssertNoRunDirectory(string runs) =>
        Assert.True(!Directory.Exists(runs) || Directory.GetDirectories(runs).Length == 0, $"bad input left a run directory in {runs}");

    [Fact]
    public void Train_of_a_missing_file_exits_2_and_says_where_it_looked()
    {
        var missing = Path.Combine(TempDirectory(), "missing.hocon");

        Assert.Equal(ExitCodes.BadInput, Run("train", missing));

        Assert.Contains($"experiment file '{missing}' not found", _console.Output);
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_of_malformed_hocon_exits_2_and_names_the_line()
    {
        var folder = TempDirectory();
        var file = WriteExperiment(folder, "epochs = 1\nbatch-size = 8\nmodel {\n  type = mlp\ndata { dataset = fashion-mnist }\n");

        Assert.Equal(ExitCodes.BadInput, Run("train", file, "--runs-dir", Path.Combine(folder, "runs")));

        Assert.Contains($"{file}, line 3: this is not valid HOCON: the '{{' on this line is never closed", _console.Output);
        Assert.False(Directory.Exists(Path.Combine(folder, "runs")), "a bad experiment must not create a run directory");
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_with_an_unknown_key_in_an_override_exits_2_and_names_the_override()
    {
        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--set", "optimizer.learning-rate=0.1"));

        Assert.Contains("--set optimizer.learning-rate=0.1: unknown key 'optimizer.learning-rate'.", _console.Output);
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_with_an_unknown_extension_type_exits_2_and_lists_the_known_ones()
    {
        var folder = TempDirectory();
        var file = WriteExperiment(folder, File.ReadAllText(SliceExperiment).Replace("{ type = progress }", "{ type = progres }"));

        Assert.Equal(ExitCodes.BadInput, Run("train", file));

        Assert.Contains("unknown extension type 'progres'. Did you mean 'progress'? Known types: ", _console.Output);
        Assert.Contains(", progress", _console.Output);
    }

    [Fact]
    public void Train_with_an_unknown_model_argument_exits_2_before_creating_a_run()
    {
        var runs = Path.Combine(TempDirectory(), "runs");

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--set", "model.args.hiden=[8]", "--runs-dir", runs));

        Assert.Contains("unknown argument 'hiden'", _console.Output);
        Assert.False(Directory.Exists(runs));
    }

    [Fact]
    public void Train_resuming_from_a_missing_checkpoint_exits_2()
    {
        var folder = TempDirectory();

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--resume", Path.Combine(folder, "nope.ckpt"), "--runs-dir", Path.Combine(folder, "runs")));

        Assert.Contains("checkpoint '", _console.Output);
        Assert.Contains("nope.ckpt' not found", _console.Output);
        Assert.False(Directory.Exists(Path.Combine(folder, "runs")));
    }

    [Fact]
    public void Train_without_an_experiment_exits_2()
    {
        Assert.Equal(ExitCodes.BadInput, Run("train"));

        Assert.Contains("missing required argument 'EXPERIMENT'", _console.Output);
    }

    [Fact]
    public void An_unknown_verb_exits_2()
    {
        Assert.Equal(ExitCodes.BadInput, Run("trian", SliceExperiment));

        Assert.Contains("Unknown command 'trian'", _console.Output);
    }

    [Fact]
    public void Eval_of_a_folder_that_is_not_a_run_exits_2()
    {
        var folder = TempDirectory();

        Assert.Equal(ExitCodes.BadInput, Run("eval", folder));

        Assert.Contains("is not a run directory (it has no experiment.hocon)", _console.Output);
        AssertNoStackTrace();
    }

    [Fact]
    public void Eval_of_a_missing_path_exits_2()
    {
        var missing = Path.Combine(TempDirectory(), "runs", "nothing-here");

        Assert.Equal(ExitCodes.BadInput, Run("eval", missing));

        Assert.Contains($"'{missing}' not found", _console.Output);
    }

    [Fact]
    public void Eval_of_a_checkpoint_outside_a_run_exits_2()
    {
        var checkpoint = Path.Combine(TempDirectory(), "loose.ckpt");
        File.WriteAllBytes(checkpoint, [1, 2, 3]);

        Assert.Equal(ExitCodes.BadInput, Run("eval", checkpoint));

        Assert.Contains("is not inside a run directory", _console.Output);
    }

    [Theory]
    [InlineData("train", "--set <KEY=VALUE>", "--runs-dir <DIR>", "--resume <CHECKPOINT>")]
    [InlineData("eval", "<RUN-DIR-OR-CHECKPOINT>", "--set <KEY=VALUE>", "--help")]
    public void Each_verb_has_help(string verb, string first, string second, string third)
    {
        Assert.Equal(ExitCodes.Success, Run(verb, "--help"));

        Assert.Contains(first, _console.Output);
        Assert.Contains(second, _console.Output);
        Assert.Contains(third, _console.Output);
    }

    [Fact]
    public void Train_resuming_from_a_checkpoint_with_more_epochs_done_than_asked_exits_2_and_creates_no_run()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--set", "epochs=2", "--runs-dir", runs], new RecordingConsole().Console));
        var first = Assert.Single(Directory.GetDirectories(runs));

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--runs-dir", runs, "--resume", first));

        Assert.Contains("has 2 epoch(s) done, but the experiment asks for 1: there is nothing left to train. Resume with more epochs (--set epochs=3 or more)", _console.Output);
        Assert.Single(Directory.GetDirectories(runs));
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_resuming_from_a_checkpoint_edited_and_re_hashed_exits_2_says_it_was_modified_and_creates_no_run()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], new RecordingConsole().Console));
        var first = Assert.Single(Directory.GetDirectories(runs));
        var checkpoint = Assert.Single(Directory.GetFiles(Path.Combine(first, "checkpoints"), "*.ckpt"));
        // The checkpoint the run wrote resumes (same user, same secret), until it is edited.
        TrainManager.Tests.Torch.CheckpointTampering.EditWeightAndRehash(checkpoint);

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--set", "epochs=2", "--runs-dir", runs, "--resume", checkpoint));

        Assert.Contains("cannot be trusted: its MAC does not verify under this cluster's checkpoint key: it was modified after it was written", Flat(_console.Output));
        Assert.Single(Directory.GetDirectories(runs));
        AssertNoStackTrace();
    }

    [Fact]
    public void Eval_of_a_checkpoint_edited_and_re_hashed_exits_2()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], new RecordingConsole().Console));
        var first = Assert.Single(Directory.GetDirectories(runs));
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["eval", first], new RecordingConsole().Console));
        TrainManager.Tests.Torch.CheckpointTampering.EditWeightAndRehash(Assert.Single(Directory.GetFiles(Path.Combine(first, "checkpoints"), "*.ckpt")));

        Assert.Equal(ExitCodes.BadInput, Run("eval", first));

        Assert.Contains("it was modified after it was written", Flat(_console.Output));
        AssertNoStackTrace();
    }

    /// <summary>The output with the console's line wrapping undone.</summary>
    static string Flat(string output) => string.Join(" ", output.Split('\n', StringSplitOptions.TrimEntries));

    [Fact]
    public void Train_resuming_with_a_model_whose_weights_do_not_fit_the_checkpoint_exits_2_and_says_which_override()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], new RecordingConsole().Console));
        var first = Assert.Single(Directory.GetDirectories(runs));

        Assert.Equal(ExitCodes.BadInput,
            Run("train", SliceExperiment, "--set", "epochs=2", "--set", "model.args.hidden=[8]", "--runs-dir", runs, "--resume", first));

        Assert.Contains("whose weights do not fit", _console.Output);
        Assert.Contains("Drop the override that changes a layer's size", _console.Output);
        Assert.Single(Directory.GetDirectories(runs)); // the first run's, and no new one
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_on_a_truncated_data_file_exits_2_and_names_the_file()
    {
        var folder = TempDirectory();
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(data);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist-slice"), "*.gz"))
            File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        var images = Path.Combine(data, "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..(bytes.Length / 2)]);

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--set", $"data.path=\"{data}\"", "--runs-dir", Path.Combine(folder, "runs")));

        Assert.Contains(images, _console.Output);
        AssertNoRunDirectory(Path.Combine(folder, "runs"));
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_on_cuda_without_a_gpu_exits_2_and_says_so()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // this machine has a GPU: the run is valid here

        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--set", "device=cuda", "--runs-dir", runs));

        Assert.Contains("cuda", _console.Output);
        AssertNoRunDirectory(runs);
        AssertNoStackTrace();
    }

    [Fact]
    public void Train_with_a_journal_that_is_not_an_sqlite_database_exits_2_names_the_file_and_creates_no_run()
    {
        var folder = TempDirectory();
        var (state, runs) = (Path.Combine(folder, "state"), Path.Combine(folder, "runs"));
        Directory.CreateDirectory(state);
        var journal = Path.Combine(state, "journal.db");
        var noise = new byte[64 * 1024];
        new Random(7).NextBytes(noise);
        File.WriteAllBytes(journal, noise);

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--runs-dir", runs, "--state-dir", state));

        Assert.Contains($"the journal {journal} is not a Train Manager journal (corrupt: file is not a database); move it aside", _console.Output);
        Assert.Single(_console.Output.Trim().Split('\n'));
        Assert.False(Directory.Exists(runs), "a bad journal must not create a run directory");
        Assert.Equal(noise, File.ReadAllBytes(journal)); // looked at, not repaired or replaced
    }

    [Fact]
    public void Train_with_a_journal_another_process_holds_locked_exits_2_at_once_and_says_what_to_do()
    {
        var folder = TempDirectory();
        var (state, runs) = (Path.Combine(folder, "state"), Path.Combine(folder, "runs"));
        Directory.CreateDirectory(state);
        var journal = Path.Combine(state, "journal.db");
        using var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False");
        holder.Open();
        using (var create = holder.CreateCommand())
        {
            create.CommandText = "CREATE TABLE held (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1);";
            create.ExecuteNonQuery();
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.Equal(ExitCodes.BadInput, Run("train", SliceExperiment, "--runs-dir", runs, "--state-dir", state));

        // Generous: it guards against waiting out the journal's 30 s busy timeout, it does not time the check.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"it took {clock.Elapsed} to say the journal is locked");
        Assert.Contains($"the journal {journal} is locked by another process", _console.Output);
        Assert.Contains("stop it, or give this one a state directory of its own with --state-dir DIR", _console.Output);
        Assert.False(Directory.Exists(runs), "a locked journal must not create a run directory");
        AssertNoStackTrace();
    }

    [Fact]
    public void Every_input_mistake_is_classified_alike_by_the_command_line_and_by_the_workers()
    {
        Exception[] mistakes =
        [
            new TrainManager.Experiments.ExperimentException("x"), new CommandInputException("x"),
            new TrainManager.Models.ModelConfigurationException("x"), new TrainManager.Data.DatasetNotFoundException("x"),
            new TrainManager.Data.DatasetInvalidException("x"), new TrainManager.Checkpoints.CheckpointCorruptException("p", "x"),
            new TrainManager.Checkpoints.CheckpointMismatchException("x"),
            new TrainManager.Checkpoints.CheckpointAuthenticationException("p", "x", "y"), new TrainManager.Runtime.DeviceUnavailableException("x"),
            new TrainManager.Node.Workers.NoUsableCheckpointException("x"),
        ];
        foreach (var mistake in mistakes)
        {
            Assert.True(TrainManagerCommand<TrainCommand.Settings>.IsBadInput(mistake), mistake.GetType().Name);
            Assert.Equal(TrainManager.Protocol.FailureKind.BadInput, TrainManager.Node.Workers.FailureText.KindOf(mistake));
        }
        var crash = new InvalidOperationException("x");
        Assert.False(TrainManagerCommand<TrainCommand.Settings>.IsBadInput(crash));
        Assert.Equal(TrainManager.Protocol.FailureKind.RunFailed, TrainManager.Node.Workers.FailureText.KindOf(crash));
    }
}
