using System.ComponentModel;
using Spectre.Console;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager runs --cluster HOST:PORT</c>: every run the coordinator knows, newest first.</summary>
[Description("List the runs of a cluster, newest first.")]
public sealed class RunsCommand(IAnsiConsole console) : ClusterCommand<ClusterCommandSettings>(console)
{
    protected override int RunOnCluster(ClusterCommandSettings settings, CancellationToken cancellationToken)
    {
        using var session = Connect(settings, cancellationToken);
        var list = Ask<RunList>(session, ListRuns.Instance, cancellationToken);
        if (list.Runs.Count == 0)
        {
            Console.WriteLine($"No runs yet on {session.Target} ({list.FreeSlots} of {list.TotalSlots} worker slots free). Submit one with: trainmanager submit EXPERIMENT.hocon --cluster {session.Target}");
            return ExitCodes.Success;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("run", "status", "epochs", "slot", "submitted", "detail");
        foreach (var run in list.Runs)
            table.AddRow(
                new Text(run.RunId),
                new Text(run.Status.ToString().ToLowerInvariant(), StatusStyle(run.Status)),
                new Text($"{run.EpochsDone}/{run.Epochs}"),
                new Text(run.Slot is { } slot
                    ? $"{slot.Node.Split('@')[^1]} #{slot.Index} {slot.Device}" + (run.Workers > 1 ? $" +{run.Workers - 1}" : "")
                    : "-"),
                new Text(run.SubmittedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm")),
                new Text(run.Detail ?? ""));
        Console.Write(table);
        Console.WriteLine($"{list.Runs.Count} run(s); {list.FreeSlots} of {list.TotalSlots} worker slots free.");
        return ExitCodes.Success;
    }

    internal static Style StatusStyle(RunStatus status) => status switch
    {
        RunStatus.Finished => new Style(Color.Green),
        RunStatus.Failed => new Style(Color.Red),
        RunStatus.Cancelled => new Style(Color.Grey),
        RunStatus.Running => new Style(Color.Blue),
        _ => Style.Plain,
    };
}
