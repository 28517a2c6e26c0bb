using TrainManager.Cli;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary>Real runs of <c>train</c> and <c>eval</c> on the committed Fashion-MNIST slice (about a second each).</summary>
public sealed class CliRunTests
{
    [Fact]
    public void Train_runs_the_experiment_prints_a_summary_and_eval_reads_the_run_back()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        var train = new RecordingConsole();

        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], train.Console));

        var run = Assert.Single(Directory.GetDirectories(runs));
        Assert.Contains("Run summary", train.Output);
        Assert.Contains(Path.GetFileName(run), train.Output);
        Assert.Contains("test accuracy", train.Output);
        Assert.Contains("epoch 1/1  train loss ", train.Output); // the progress extension, in lines mode
        Assert.Contains("# Override: --set runs-dir=", File.ReadAllText(Path.Combine(run, "experiment.hocon")));

        var eval = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["eval", run], eval.Console));
        Assert.Contains("Evaluation", eval.Output);
        Assert.Contains("after epoch   │ 1", eval.Output);
        Assert.Contains("samples       │ 500", eval.Output);

        var checkpoint = Assert.Single(Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.ckpt"));
        var evalCheckpoint = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["eval", checkpoint, "--set", "data.test-limit=100"], evalCheckpoint.Console));
        Assert.Contains("samples       │ 100", evalCheckpoint.Output);
    }

    [Fact]
    public void Train_with_set_records_the_overrides_in_instantiation_json()
    {
        var runs = Path.Combine(TempDirectory(), "runs");

        Assert.Equal(ExitCodes.Success,
            TrainManagerApp.Run(["train", SliceExperiment, "--set", "seed=11", "--runs-dir", runs], new RecordingConsole().Console));

        var run = Assert.Single(Directory.GetDirectories(runs));
        using var instantiation = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "instantiation.json")));
        var overrides = instantiation.RootElement.EnumerateObject()
            .Single(p => p.Name.Equals("overrides", StringComparison.OrdinalIgnoreCase)).Value.EnumerateArray()
            .Select(o => o.GetRawText()).ToList();
        Assert.Contains(overrides, o => o.Contains("seed", StringComparison.Ordinal) && o.Contains("11", StringComparison.Ordinal));
        Assert.Contains(overrides, o => o.Contains("runs-dir", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_resumes_from_a_run_directory_and_runs_only_the_remaining_epochs()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], new RecordingConsole().Console));
        var first = Assert.Single(Directory.GetDirectories(runs));

        var resumed = new RecordingConsole();
        Assert.Equal(ExitCodes.Success,
            TrainManagerApp.Run(["train", SliceExperiment, "--set", "epochs=2", "--runs-dir", runs, "--resume", first], resumed.Console));

        Assert.DoesNotContain("epoch 1/2", resumed.Output);
        Assert.Contains("epoch 2/2  train loss ", resumed.Output);
        Assert.Contains("epochs        │ 2/2", resumed.Output);
    }

    [Fact]
    public void Train_with_two_workers_runs_both_ranks_here_and_rank_zero_alone_reports_and_writes()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        var console = new RecordingConsole();

        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--set", "workers=2", "--runs-dir", runs], console.Console));

        var run = Assert.Single(Directory.GetDirectories(runs));
        Assert.Single(Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.ckpt"));
        Assert.True(Directory.Exists(Path.Combine(run, "rank-1")), "rank 1 has no directory of its own");
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(console.Output, "epoch 1/1  train loss "));
        Assert.Contains("workers = 2", File.ReadAllText(Path.Combine(run, "experiment.hocon")));
    }

    /// <summary>Both transports serve two workers here (in-process would be refused were a rank elsewhere). Their
    /// losses are compared where the ranks are built one after the other (DataParallelTrainingTests): here the two
    /// ranks are prepared at once and draw their initial weights from torch's one global generator in either order,
    /// so two runs of the same experiment may start from different (averaged) weights.</summary>
    [Theory]
    [InlineData("ring")]
    [InlineData("in-process")]
    [InlineData("auto")]
    public void Two_workers_here_train_over_the_transport_the_experiment_names(string transport)
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        var console = new RecordingConsole();

        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--set", "workers=2",
            "--set", $"data-parallel.transport={transport}", "--runs-dir", runs], console.Console));

        Assert.Single(System.Text.RegularExpressions.Regex.Matches(console.Output, "epoch 1/1  train loss "));
        Assert.Contains($"transport = \"{transport}\"", File.ReadAllText(Path.Combine(Assert.Single(Directory.GetDirectories(runs)), "experiment.hocon")));
    }

    [Fact]
    public void A_cancelled_run_stops_cleanly_and_exits_130()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        var console = new RecordingConsole();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel(); // as if Ctrl+C came before the first epoch ended

        var code = TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], console.Console, cancelled.Token);

        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Contains("Stopped early: interrupted (Ctrl+C)", console.Output);
        Assert.DoesNotContain("   at ", console.Output);
    }

    [Fact]
    public void A_run_whose_data_files_are_broken_exits_2_names_the_file_and_leaves_no_run_directory()
    {
        var folder = TempDirectory();
        var data = Directory.CreateDirectory(Path.Combine(folder, "broken-idx")).FullName;
        foreach (var name in new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
            File.WriteAllBytes(Path.Combine(data, name), [0, 0, 0, 0, 9, 9, 9]);
        var console = new RecordingConsole();
        var runs = Path.Combine(folder, "runs");

        var code = TrainManagerApp.Run(
            ["train", SliceExperiment, "--set", "data.dataset=mnist-idx", "--set", $"data.path={data}", "--runs-dir", runs],
            console.Console);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(Path.Combine(data, "train-images-idx3-ubyte"), console.Output);
        Assert.DoesNotContain("The run failed", console.Output);
        Assert.Empty(Directory.Exists(runs) ? Directory.GetDirectories(runs) : []); // the message is the whole story: nothing ran
        Assert.DoesNotContain("   at ", console.Output);
    }

    [Fact]
    public void A_run_that_fails_for_its_own_reasons_exits_1_and_points_at_its_full_error()
    {
        var console = new RecordingConsole();
        var errorFile = Path.Combine(TempDirectory(), "error.txt");

        var code = new FailingCommand(console.Console, errorFile).Execute(null!, new TrainCommand.Settings(), CancellationToken.None);

        Assert.Equal(ExitCodes.RunFailed, code);
        Assert.Contains("The run failed: the loss became NaN at step 12", console.Output);
        Assert.Contains($"The full error is in {errorFile}", console.Output);
    }

    sealed class FailingCommand(Spectre.Console.IAnsiConsole console, string errorFile) : TrainManagerCommand<TrainCommand.Settings>(console)
    {
        protected override int Run(TrainCommand.Settings settings, CancellationToken cancellationToken) =>
            throw new RunFailedException(errorFile, new InvalidOperationException("the loss became NaN at step 12"));
    }
}
