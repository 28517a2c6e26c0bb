using System.ComponentModel;
using Spectre.Console;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager cancel RUN --cluster HOST:PORT</c>.</summary>
[Description("Cancel a run: a queued run never starts; a training run stops after its current batch and writes a checkpoint.")]
public sealed class CancelCommand(IAnsiConsole console) : ClusterCommand<RunCommandSettings>(console)
{
    protected override int RunOnCluster(RunCommandSettings settings, CancellationToken cancellationToken)
    {
        using var session = Connect(settings, cancellationToken);
        var accepted = Ask<CancelAccepted>(session, new CancelRun(settings.Run, $"cancelled by {Environment.UserName}@{Environment.MachineName}"), cancellationToken);
        Console.WriteLine(accepted.WasStatus is RunStatus.Running or RunStatus.Scheduled
            ? $"Run {accepted.RunId} is cancelled; it stops after its current batch and writes a checkpoint."
            : $"Run {accepted.RunId} is cancelled (it was {accepted.WasStatus.ToString().ToLowerInvariant()}).");
        return ExitCodes.Success;
    }
}
