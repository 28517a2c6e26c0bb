using TrainManager.Coordinator.Experiments;
using System.ComponentModel;
using Spectre.Console;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager checkpoints RUN --cluster HOST:PORT</c>.</summary>
[Description("List a run's checkpoints as the journal recorded them: epoch, step, path, SHA-256, metrics.")]
public sealed class CheckpointsCommand(IAnsiConsole console) : ClusterCommand<RunCommandSettings>(console)
{
    protected override int RunOnCluster(RunCommandSettings settings, CancellationToken cancellationToken)
    {
        using var session = Connect(settings, cancellationToken);
        var details = Ask<RunDetails>(session, new GetRun(settings.Run), cancellationToken);
        if (details.Checkpoints.Count == 0)
        {
            Console.WriteLine($"Run {details.Summary.RunId} has no checkpoint yet ({details.Summary.Status.ToString().ToLowerInvariant()}).");
            return ExitCodes.Success;
        }
        var table = new Table().Border(TableBorder.Rounded).Title($"Checkpoints of {details.Summary.RunId}")
            .AddColumns("epoch", "step", "path", "sha256", "metric", "here");
        foreach (var checkpoint in details.Checkpoints)
            table.AddRow(
                (checkpoint.Epoch + 1).ToString(),
                checkpoint.Step.ToString(),
                Markup.Escape(checkpoint.Path),
                checkpoint.Sha256[..Math.Min(16, checkpoint.Sha256.Length)],
                HeadlineMetric.Of(checkpoint.Metrics) is { } headline
                    ? Markup.Escape(HeadlineMetric.Text(headline.Key, headline.Value)) : "-",
                // Whether this machine sees the shared directory: a resume on it could use the file.
                File.Exists(checkpoint.Path) ? "yes" : "not on this machine");
        Console.Write(table);
        return ExitCodes.Success;
    }
}
