namespace TrainManager.Protocol.Configuration;

/// <summary>
/// Settings given on the command line or in the environment, over those of the configuration file. Null means "not
/// given here": the layer below decides. <see cref="Over"/> stacks two layers (flags over environment variables).
/// </summary>
public sealed record ClusterOverrides
{
    public string? Host { get; init; }
    public int? Port { get; init; }
    /// <summary><c>HOST:PORT</c> each (or full <c>akka.tcp://trainmanager@HOST:PORT</c> addresses).</summary>
    public IReadOnlyList<string>? SeedNodes { get; init; }
    public IReadOnlyList<string>? Roles { get; init; }
    public IReadOnlyList<string>? Devices { get; init; }
    /// <summary>The address other nodes dial for gradients (<c>trainmanager.node.data-host</c>).</summary>
    public string? DataHost { get; init; }
    /// <summary>Slot i's gradient port is this + i; 0: any free port (<c>trainmanager.node.data-port</c>).</summary>
    public int? DataPort { get; init; }
    public string? RunsDirectory { get; init; }
    /// <summary>The folders experiments may read data from (<c>trainmanager.node.data-roots</c>).</summary>
    public IReadOnlyList<string>? DataRoots { get; init; }
    public string? StateDirectory { get; init; }
    public string? Store { get; init; }
    public string? JournalConnection { get; init; }
    public string? TlsPassword { get; init; }
    /// <summary>This member's certificate, a .pfx (<c>akka.remote.dot-netty.tcp.ssl.certificate.path</c>).</summary>
    public string? TlsCertificate { get; init; }
    /// <summary>The cluster CA's certificate (<c>trainmanager.security.ca-certificate</c>).</summary>
    public string? CaCertificate { get; init; }
    /// <summary>The cluster secret's file (<c>trainmanager.security.secret-file</c>).</summary>
    public string? SecretFile { get; init; }
    /// <summary>The secret itself, never from a file or the environment: the embedded <c>train</c>'s own, tests.</summary>
    public Security.ClusterSecret? Secret { get; init; }
    /// <summary>Extra HOCON with the highest precedence (tests, the CLI's own member settings).</summary>
    public string? Hocon { get; init; }

    /// <summary>This layer over <paramref name="lower"/>: each setting given here wins.</summary>
    public ClusterOverrides Over(ClusterOverrides lower) => new()
    {
        Host = Host ?? lower.Host,
        Port = Port ?? lower.Port,
        SeedNodes = SeedNodes ?? lower.SeedNodes,
        Roles = Roles ?? lower.Roles,
        Devices = Devices ?? lower.Devices,
        DataHost = DataHost ?? lower.DataHost,
        DataPort = DataPort ?? lower.DataPort,
        RunsDirectory = RunsDirectory ?? lower.RunsDirectory,
        DataRoots = DataRoots ?? lower.DataRoots,
        StateDirectory = StateDirectory ?? lower.StateDirectory,
        Store = Store ?? lower.Store,
        JournalConnection = JournalConnection ?? lower.JournalConnection,
        TlsPassword = TlsPassword ?? lower.TlsPassword,
        TlsCertificate = TlsCertificate ?? lower.TlsCertificate,
        CaCertificate = CaCertificate ?? lower.CaCertificate,
        SecretFile = SecretFile ?? lower.SecretFile,
        Secret = Secret ?? lower.Secret,
        Hocon = Hocon is null ? lower.Hocon : lower.Hocon is null ? Hocon : Hocon + "\n" + lower.Hocon,
    };

    /// <summary>The <c>TRAINMANAGER_*</c> environment variables (see cluster.hocon for the table).</summary>
    public static ClusterOverrides FromEnvironment(Func<string, string?>? read = null)
    {
        read ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => read(name) is { Length: > 0 } value ? value.Trim() : null;
        return new ClusterOverrides
        {
            Host = Get("TRAINMANAGER_HOST"),
            Port = Get("TRAINMANAGER_PORT") is { } port ? ParsePort(port, "TRAINMANAGER_PORT") : null,
            SeedNodes = List(Get("TRAINMANAGER_SEED_NODES")),
            Roles = List(Get("TRAINMANAGER_ROLES")),
            Devices = List(Get("TRAINMANAGER_DEVICES")),
            DataHost = Get("TRAINMANAGER_DATA_HOST"),
            DataPort = Get("TRAINMANAGER_DATA_PORT") is { } dataPort ? ParsePort(dataPort, "TRAINMANAGER_DATA_PORT") : null,
            RunsDirectory = Get("TRAINMANAGER_RUNS_DIRECTORY"),
            DataRoots = List(Get("TRAINMANAGER_DATA_ROOTS")),
            StateDirectory = Get("TRAINMANAGER_STATE_DIRECTORY"),
            Store = Get("TRAINMANAGER_STORE"),
            JournalConnection = Get("TRAINMANAGER_JOURNAL_CONNECTION"),
            TlsPassword = Get("TRAINMANAGER_TLS_PASSWORD"),
            TlsCertificate = Get("TRAINMANAGER_TLS_CERTIFICATE"),
            CaCertificate = Get("TRAINMANAGER_CA_CERTIFICATE"),
            SecretFile = Get("TRAINMANAGER_SECRET_FILE"),
        };
    }

    /// <summary>A comma-separated list (<c>cpu,cpu</c>), or null when empty.</summary>
    public static IReadOnlyList<string>? List(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } items ? items : null;

    public static int ParsePort(string text, string source) =>
        int.TryParse(text, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new ClusterConfigurationException($"{source} is '{text}'; a port is a number from 1 to 65535 (0: any free port).");
}
