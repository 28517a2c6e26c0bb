using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Protocol.Security;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager secret FILE</c>: a new cluster's secret, written readable by its owner only.</summary>
[Description("Create a new cluster's secret file. Every node and every client of the cluster needs a copy of it.")]
public sealed class SecretCommand(IAnsiConsole console) : TrainManagerCommand<SecretCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("Where to write it, e.g. /etc/trainmanager/cluster.secret. An existing file is never overwritten.")]
        public string File { get; set; } = "";
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(settings.File);
        var secret = ClusterSecret.Create(full);
        Console.MarkupLineInterpolated($"Wrote a new cluster secret to [bold]{full}[/] (key id {secret.KeyId}, readable by you only).");
        Console.WriteLine("Copy it to every node (--secret-file FILE or TRAINMANAGER_SECRET_FILE) and to every machine that submits; keep it private.");
        return ExitCodes.Success;
    }
}
