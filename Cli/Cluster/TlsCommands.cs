using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;

namespace TrainManager.Cli.Cluster;

/// <summary><c>trainmanager tls ca DIR</c>: the cluster's own certificate authority.</summary>
[Description("Create the cluster's certificate authority in DIR: ca.crt (give it to every node and client) and ca.key (keep it here).")]
public sealed class TlsAuthorityCommand(IAnsiConsole console) : TrainManagerCommand<TlsAuthorityCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<DIR>")]
        [Description("A new folder, or one without a CA yet.")]
        public string Directory { get; set; } = "";
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var folder = Path.GetFullPath(settings.Directory);
        var authority = ClusterTls.CreateAuthority(folder);
        Console.MarkupLineInterpolated($"Made the cluster CA [bold]{authority.Subject}[/] in {folder}.");
        Console.WriteLine($"Give {Path.Combine(folder, ClusterTls.AuthorityCertificateFile)} to every node and client (trainmanager.security.ca-certificate); " +
                          $"{ClusterTls.AuthorityKeyFile} stays here. Issue each machine's certificate with: trainmanager tls certificate --ca {folder} --host HOST FILE.pfx");
        return ExitCodes.Success;
    }
}

/// <summary><c>trainmanager tls certificate --ca DIR --host H FILE.pfx</c>: a node's or client's certificate.</summary>
[Description("Issue a certificate from the cluster CA for one node or client, as a .pfx with its key.")]
public sealed class TlsCertificateCommand(IAnsiConsole console) : TrainManagerCommand<TlsCertificateCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("Where to write the .pfx (mode 600; never overwritten).")]
        public string File { get; set; } = "";

        [CommandOption("--ca <DIR>")]
        [Description("The CA's folder (from `trainmanager tls ca DIR`).")]
        public string? Authority { get; set; }

        [CommandOption("--host <HOSTS>")]
        [Description("The machine's names and addresses, comma-separated (e.g. node7.example.org,10.0.0.7).")]
        public string? Hosts { get; set; }

        public override ValidationResult Validate() =>
            Authority is null ? ValidationResult.Error("--ca DIR is required: the folder `trainmanager tls ca DIR` made.")
            : ClusterOverrides.List(Hosts) is null ? ValidationResult.Error("--host is required: the machine's name or address, e.g. --host 10.0.0.7.")
            : base.Validate();
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var hosts = ClusterOverrides.List(settings.Hosts)!;
        var password = Environment.GetEnvironmentVariable("TRAINMANAGER_TLS_PASSWORD") ?? "";
        var issued = ClusterTls.Issue(settings.Authority!, settings.File, hosts[0], hosts, password);
        Console.MarkupLineInterpolated($"Issued [bold]{issued.Subject}[/] ({string.Join(", ", hosts)}) to {Path.GetFullPath(settings.File)}, valid until {issued.NotAfter:yyyy-MM-dd}.");
        Console.WriteLine($"Give it to that node or client: TRAINMANAGER_TLS_CERTIFICATE={Path.GetFullPath(settings.File)} " +
                          $"(akka.remote.dot-netty.tcp.ssl.certificate.path) and TRAINMANAGER_CA_CERTIFICATE={Path.GetFullPath(Path.Combine(settings.Authority!, ClusterTls.AuthorityCertificateFile))}" +
                          (password.Length > 0 ? "; its password is TRAINMANAGER_TLS_PASSWORD." : "."));
        return ExitCodes.Success;
    }
}
