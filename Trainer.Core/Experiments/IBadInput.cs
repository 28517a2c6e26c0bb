namespace TrainManager.Experiments;

/// <summary>
/// Marks an exception caused by what the user gave (the experiment, a command-line argument, the data, a checkpoint,
/// the device asked for), which they can fix without changing code. The one rule every entry point classifies
/// failures by: the CLI exits 2 and prints the message alone; a cluster run fails as bad input, not as a crash.
/// Only the failure itself counts, not what it wraps: a hook that failed because of a missing file is a failed run.
/// </summary>
public interface IBadInput;

/// <summary>The classification, in one place.</summary>
public static class BadInput
{
    public static bool Is(Exception e) => e is IBadInput;
}
