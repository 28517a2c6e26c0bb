using System.Diagnostics;
using TrainManager.Cli;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary><c>check-leakage</c> and <c>reproduce</c>, as a user runs them.</summary>
public sealed class CliProvenanceAndLeakageTests
{
    [Fact]
    public void Check_leakage_passes_a_correct_model_and_exits_zero()
    {
        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["check-leakage", SliceExperiment], console.Console));
        Assert.Contains("No batch leakage found", console.Output);
    }

    [Fact]
    public void Check_leakage_of_a_missing_experiment_is_bad_input()
    {
        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["check-leakage", "no-such-file.hocon"], console.Console));
    }

    private static void Git(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var git = Process.Start(start)!;
        git.WaitForExit();
        Assert.True(git.ExitCode == 0, $"git {string.Join(' ', args)}: {git.StandardError.ReadToEnd()}");
    }

    [Fact]
    public void A_run_trained_with_provenance_gives_back_its_exact_code_including_uncommitted_changes()
    {
        var repo = TempDirectory();
        Git(repo, "init", "-q");
        Git(repo, "config", "user.email", "test@example.com");
        Git(repo, "config", "user.name", "Test");
        var slice = Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist-slice").Replace("\\", "/");
        var runs = Path.Combine(TempDirectory(), "runs");
        var experiment = WriteExperiment(repo, $$"""
            name = provenance-test
            epochs = 1
            batch-size = 64
            threads = 1
            model { type = mlp, args { hidden = [16] } }
            data { dataset = fashion-mnist, path = "{{slice}}", train-limit = 256, test-limit = 100 }
            runs-dir = "{{runs.Replace("\\", "/")}}"
            extensions = [ { type = provenance } ]
            """);
        File.WriteAllText(Path.Combine(repo, "model.py"), "committed\n");
        Git(repo, "add", "-A");
        Git(repo, "commit", "-qm", "first");
        File.WriteAllText(Path.Combine(repo, "model.py"), "changed but not committed\n");
        File.WriteAllText(Path.Combine(repo, "notes.txt"), "untracked\n");

        var train = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", experiment], train.Console));
        var run = Assert.Single(Directory.GetDirectories(runs));

        var target = Path.Combine(TempDirectory(), "code");
        var reproduce = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["reproduce", run, target], reproduce.Console));
        Assert.Contains("(verified)", reproduce.Output);
        Assert.Equal("changed but not committed\n", File.ReadAllText(Path.Combine(target, "model.py")));
        Assert.Equal("untracked\n", File.ReadAllText(Path.Combine(target, "notes.txt")));
    }

    [Fact]
    public void Reproducing_a_run_without_provenance_says_how_to_record_it()
    {
        var runs = Path.Combine(TempDirectory(), "runs");
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["train", SliceExperiment, "--runs-dir", runs], new RecordingConsole().Console));
        var console = new RecordingConsole();
        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["reproduce", Directory.GetDirectories(runs)[0], Path.Combine(runs, "x")], console.Console));
        Assert.Contains("type = provenance", console.Output);
    }
}
