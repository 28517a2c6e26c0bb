using System.Reflection;
using TrainManager.Experiments;

namespace TrainManager.Tests.Experiments;

/// <summary>
/// The one classification and description of a failure (<see cref="BadInput"/>), which the CLI's exit codes and the
/// workers' failure reports both use: exception, whether it is the user's input, the sentence they read.
/// </summary>
public sealed class BadInputTests
{
    public static TheoryData<string, Exception, bool, string> Cases() => new()
    {
        { "an experiment mistake", new ExperimentException("epochs must be positive"), true, "epochs must be positive" },
        { "a crash", new InvalidOperationException("boom"), false, "boom" },
        // Deliberately bad input: every checkpoint the run could resume from failed verification. Nothing in the code is
        // wrong and retrying cannot help; the person restores a checkpoint or submits again without one, as it says.
        { "no checkpoint to resume from", new TrainManager.Node.Workers.NoUsableCheckpointException("cannot resume: restore one"), true, "cannot resume: restore one" },
        { "a damaged checkpoint", new TrainManager.Checkpoints.CheckpointCorruptException("c.pt", "truncated"), true, "" },
        // A hook that failed because of a bad input is a failed run: the hook chose to read it, not the user.
        { "a failure wrapping a bad input", new InvalidOperationException("hook Plot failed", new ExperimentException("no such file")), false, "hook Plot failed ← no such file" },
        { "a task's wrapper of a bad input", new AggregateException(new ExperimentException("bad key")), true, "bad key" },
        { "a task's wrapper of a crash", new AggregateException(new InvalidOperationException("boom")), false, "boom" },
        { "a wrapper of bad inputs only", new AggregateException(new ExperimentException("a"), new ExperimentException("b")), true, "a; b" },
        { "a wrapper of a bad input and a crash", new AggregateException(new ExperimentException("a"), new InvalidOperationException("b")), false, "a; b" },
        { "a reflective call's wrapper", new TargetInvocationException(new ExperimentException("bad setting")), true, "bad setting" },
        { "a repeated message", new InvalidOperationException("disk full", new IOException("disk full")), false, "disk full" },
        { "an empty aggregate", new AggregateException(), false, "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_failure_is_classified_and_described_alike_everywhere(string what, Exception failure, bool badInput, string description)
    {
        Assert.True(badInput == BadInput.Is(failure), $"{what}: expected bad input = {badInput}");
        Assert.Equal(badInput ? TrainManager.Protocol.FailureKind.BadInput : TrainManager.Protocol.FailureKind.RunFailed, TrainManager.Node.Workers.FailureText.KindOf(failure));
        if (description.Length > 0)
            Assert.Equal(description, BadInput.Describe(failure));
        else
            Assert.Equal(TrainManager.Node.Workers.FailureText.Describe(failure), BadInput.Describe(failure)); // whatever it says, the same everywhere
    }
}
