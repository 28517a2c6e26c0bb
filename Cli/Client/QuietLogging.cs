namespace TrainManager.Cli.Client;

/// <summary>
/// Akka settings for processes whose console belongs to the user (the CLI, the embedded <c>train</c>): the command
/// prints what matters itself, and Akka's lifecycle and association messages would only be noise there.
/// </summary>
internal static class QuietLogging
{
    public const string Hocon = """
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.cluster.log-info = off
        akka.remote.log-remote-lifecycle-events = off

        """;
}
