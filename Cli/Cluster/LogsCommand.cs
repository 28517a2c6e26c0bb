using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager logs RUN [--follow] --cluster HOST:PORT</c>: the run's journal, one event a line.</summary>
[Description("Print a run's history from the journal (submitted, scheduled, epochs, checkpoints, end), one event a line.")]
public sealed class LogsCommand(IAnsiConsole console) : ClusterCommand<LogsCommand.Settings>(console)
{
    public sealed class Settings : RunCommandSettings
    {
        [CommandOption("--follow")]
        [Description("Keep printing events as they happen, until the run ends (Ctrl+C stops following, not the run).")]
        public bool Follow { get; set; }
    }

    protected override int RunOnCluster(Settings settings, CancellationToken cancellationToken)
    {
        using var session = Connect(settings, cancellationToken);
        if (!settings.Follow)
        {
            var details = Ask<RunDetails>(session, new GetRun(settings.Run), cancellationToken);
            foreach (var e in details.History)
                Console.Profile.Out.Writer.WriteLine(RunEventText.Line(e));
            return ExitCodes.Success;
        }
        RunEnded ended;
        try
        {
            ended = session.FollowAsync(settings.Run, new EventLineFollower(Console), cancellationToken).GetAwaiter().GetResult();
        }
        catch (TaskCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (TrainManager.Cli.Client.RunNotFoundException notFound)
        {
            throw new CommandInputException(notFound.Message);
        }
        return RunEndings.Report(Console, ended);
    }
}
