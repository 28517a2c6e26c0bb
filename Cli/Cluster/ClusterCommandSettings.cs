using System.ComponentModel;
using Spectre.Console.Cli;

namespace TrainManager.Cli.Cluster;

/// <summary>How a verb reaches the cluster: <c>--cluster</c>, <c>--config</c>, <c>--timeout</c>.</summary>
public class ClusterCommandSettings : CommandSettings
{
    [CommandOption("--cluster <HOST:PORT>")]
    [Description("A node of the cluster, e.g. 127.0.0.1:4053 (several: comma-separated). Default: $TRAINMANAGER_CLUSTER, else the seed nodes of --config (127.0.0.1:4053).")]
    public string? Cluster { get; set; }

    [CommandOption("--config <FILE>")]
    [Description("Cluster settings (a copy of cluster.hocon): TLS certificate, seed nodes. Default: the built-in cluster.hocon.")]
    public string? Config { get; set; }

    [CommandOption("--secret-file <FILE>")]
    [Description("The cluster's secret file (the same one its nodes have). Default: $TRAINMANAGER_SECRET_FILE, else on 127.0.0.1 ~/.trainmanager/cluster.secret.")]
    public string? SecretFile { get; set; }

    [CommandOption("--timeout <SECONDS>")]
    [Description("How long to wait to join the cluster (default 10).")]
    public double? Timeout { get; set; }

    public override Spectre.Console.ValidationResult Validate() =>
        Timeout is <= 0 ? Spectre.Console.ValidationResult.Error("--timeout must be a positive number of seconds, e.g. --timeout 5.")
            : base.Validate();
}

/// <summary>Settings of the verbs about one run.</summary>
public class RunCommandSettings : ClusterCommandSettings
{
    [CommandArgument(0, "<RUN>")]
    [Description("The run id (as `trainmanager runs` lists it); a unique beginning of it is enough.")]
    public string Run { get; set; } = "";
}
