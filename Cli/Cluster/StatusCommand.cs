using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager status [RUN] --cluster HOST:PORT</c>: the cluster's members and slots, or one run.</summary>
[Description("Show the cluster (members, worker slots, runs by status), or one run in detail.")]
public sealed class StatusCommand(IAnsiConsole console) : ClusterCommand<StatusCommand.Settings>(console)
{
    public sealed class Settings : ClusterCommandSettings
    {
        [CommandArgument(0, "[RUN]")]
        [Description("A run id (or a unique beginning of one); without it, the cluster as a whole.")]
        public string? Run { get; set; }
    }

    protected override int RunOnCluster(Settings settings, CancellationToken cancellationToken)
    {
        using var session = Connect(settings, cancellationToken);
        if (settings.Run is { } runId)
        {
            var details = Ask<RunDetails>(session, new GetRun(runId), cancellationToken);
            Console.Write(RunTable(details));
            return ExitCodes.Success;
        }
        var list = Ask<RunList>(session, ListRuns.Instance, cancellationToken);
        var members = new Table().Border(TableBorder.Rounded).Title($"Cluster at {session.Target}").AddColumns("member", "status", "roles");
        foreach (var member in Akka.Cluster.Cluster.Get(session.System).State.Members.Where(m => !m.HasRole(TrainManager.Protocol.Configuration.NodeRoles.Cli)))
            members.AddRow(member.Address.ToString(), member.Status.ToString().ToLowerInvariant(), string.Join(", ", member.Roles.Order(StringComparer.Ordinal)));
        Console.Write(members);
        Console.WriteLine($"Worker slots: {list.FreeSlots} free of {list.TotalSlots}.");
        var counts = list.Runs.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        Console.WriteLine(list.Runs.Count == 0 ? "Runs: none yet." : $"Runs: {string.Join(", ", counts)}.");
        return ExitCodes.Success;
    }

    static Table RunTable(RunDetails details)
    {
        var run = details.Summary;
        var table = new Table().Border(TableBorder.Rounded).Title($"Run {run.RunId}").HideHeaders().AddColumn("").AddColumn("");
        void Row(string name, string value) => table.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Row("name", run.Name);
        Row("status", run.Status.ToString().ToLowerInvariant() + (run.Detail is { } detail ? $" ({detail})" : ""));
        Row("epochs", $"{run.EpochsDone}/{run.Epochs}");
        Row("slot", run.Slot?.ToString() ?? "-");
        if (run.Workers > 1)
            Row("workers", details.History.OfType<ExperimentScheduled>().LastOrDefault() is { } placed && run.Slot is not null
                ? string.Join("\n", placed.Ranks.Select((slot, rank) => $"rank {rank}: {slot}"))
                : $"{run.Workers} (not placed)");
        if (details.History.OfType<ExperimentSubmitted>().FirstOrDefault() is { } submitted)
        {
            Row("code", submitted.Bundle is { } bundle
                ? $"{bundle.Project} bundle {bundle.Hash}\n{bundle.Recorded().Origin}, {TrainManager.Runtime.ByteCount.Text(bundle.Size)}, framework {bundle.FrameworkVersion}"
                : "the framework's components only");
            if (submitted.Data is { } data)
                Row("data", data.Describe());
        }
        Row("submitted", run.SubmittedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"));
        Row("updated", run.UpdatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"));
        Row("run directory", details.RunDirectory ?? "- (not started yet)");
        Row("checkpoints", details.Checkpoints.Count == 0 ? "none yet" : $"{details.Checkpoints.Count}, newest {details.Checkpoints[^1].Path}");
        Row("events", details.History.Count.ToString());
        return table;
    }
}
