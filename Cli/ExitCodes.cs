namespace TrainManager.Cli;

/// <summary>What <c>trainmanager</c> exits with, so scripts and CI can tell a typo from a crash.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The run started and failed: a bug, a broken machine, a failing extension.</summary>
    public const int RunFailed = 1;

    /// <summary>The command line or the experiment is wrong; nothing ran. The message says what to change.</summary>
    public const int BadInput = 2;

    /// <summary>The cluster could not be reached or has no coordinator (<c>submit</c>, <c>runs</c>, ...); the message says what to start.</summary>
    public const int ClusterUnavailable = 4;

    /// <summary>Stopped by Ctrl+C after the current stage (the usual 128 + SIGINT); a checkpoint was written where possible.</summary>
    public const int Interrupted = 130;

    /// <summary><c>check-leakage</c> found samples of a batch that influence each other.</summary>
    public const int LeakFound = 3;
}
