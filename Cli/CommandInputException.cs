namespace TrainManager.Cli;

/// <summary>A command-line argument that cannot be used (a missing file, a folder that is not a run); exit code 2.</summary>
public sealed class CommandInputException(string message, Exception? inner = null) : Exception(message, inner), TrainManager.Experiments.IBadInput;

/// <summary>A run that failed after its run directory was created; <see cref="ErrorFile"/> holds the full exception.</summary>
public sealed class RunFailedException(string errorFile, Exception inner) : Exception(inner.Message, inner)
{
    public string ErrorFile { get; } = errorFile;
}
