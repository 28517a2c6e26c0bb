using System.Text.Json;
using System.Text.RegularExpressions;
using TrainManager.Cli;
using static TrainManager.Tests.Cli.CliPaths;

namespace TrainManager.Tests.Cli;

/// <summary>Ctrl+C at a terminal, as the README promises it: exit 130, a checkpoint where the run stood, and the
/// command that resumes it onto the same loss sequence.</summary>
public sealed class CliInterruptTests
{
    const int Epochs = 50; // long enough to be interrupted on a fast machine, a few seconds on a slow one
    static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3); // bounds a hang, not the machine's speed

    [Fact]
    public void Ctrl_C_in_a_terminal_exits_130_writes_a_checkpoint_and_its_resume_command_continues_the_same_loss_sequence()
    {
        if (!CliProcess.TerminalAvailable) return; // no pseudo-terminal here: the in-process test of cancelling still runs
        var folder = TempDirectory();
        var state = Path.Combine(folder, "state");
        var runs = Path.Combine(folder, "runs");
        var epochs = $"epochs={Epochs}";

        var (code, output) = CliProcess.Run(state, Deadline, "train", SliceExperiment, "--set", epochs, "--runs-dir", Path.Combine(folder, "uninterrupted"));
        Assert.True(code == ExitCodes.Success, output);
        var uninterrupted = BatchLosses(Assert.Single(Directory.GetDirectories(Path.Combine(folder, "uninterrupted"))));

        string interruptedRun;
        using (var train = CliProcess.StartInTerminal(state, "train", SliceExperiment, "--set", epochs, "--runs-dir", runs))
        {
            interruptedRun = WaitForEpochs(runs, 2, train);
            train.PressCtrlC();

            Assert.Equal(ExitCodes.Interrupted, train.WaitForExit(Deadline));
            output = train.Output;
        }
        var resume = Regex.Match(output, @"Stopped early: interrupted \(Ctrl\+C\)\. Continue with: trainmanager train (\S+) --resume (\S+)");
        Assert.True(resume.Success, output);
        var (experiment, checkpoint) = (resume.Groups[1].Value, resume.Groups[2].Value);
        Assert.Equal(Path.Combine(interruptedRun, "experiment.hocon"), experiment);
        Assert.True(File.Exists(checkpoint), $"the checkpoint {checkpoint} it names is not there:\n{output}");
        Assert.StartsWith(Path.Combine(interruptedRun, "checkpoints"), checkpoint);
        Assert.DoesNotContain("The run failed", output);

        (code, output) = CliProcess.Run(state, Deadline, "train", experiment, "--resume", checkpoint);
        Assert.True(code == ExitCodes.Success, output);
        var resumedRun = Assert.Single(Directory.GetDirectories(runs), run => run != interruptedRun);
        var (before, after) = (BatchLosses(interruptedRun), BatchLosses(resumedRun));
        Assert.True(before.Count < uninterrupted.Count, "the run ended before Ctrl+C reached it");
        Assert.Equal(before[^1].Step + 1, after[0].Step);
        Assert.Equal(uninterrupted, before.Concat(after).ToList());
    }

    /// <returns>The run directory, once it has <paramref name="count"/> epochs done.</returns>
    static string WaitForEpochs(string runs, int count, CliProcess train)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            if (Directory.Exists(runs) && Directory.GetDirectories(runs) is [var run]
                && File.Exists(Path.Combine(run, "metrics", "epochs.jsonl"))
                && File.ReadLines(Path.Combine(run, "metrics", "epochs.jsonl")).Count() >= count)
                return run;
            Thread.Sleep(50);
        }
        throw new Xunit.Sdk.XunitException($"the run did not get to epoch {count}:\n{train.Output}");
    }

    static List<(long Step, double Loss)> BatchLosses(string run) => File.ReadLines(Path.Combine(run, "metrics", "batches.jsonl"))
        .Select(line => JsonDocument.Parse(line).RootElement)
        .Select(batch => (batch.GetProperty("step").GetInt64(), batch.GetProperty("loss").GetDouble()))
        .ToList();
}
