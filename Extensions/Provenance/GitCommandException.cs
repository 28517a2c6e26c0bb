namespace TrainManager.Extensions.Provenance;

/// <summary>A git command failed or git could not be started; the message carries the command line and git's stderr.</summary>
public sealed class GitCommandException(string message, Exception? inner = null) : Exception(message, inner);
