using System.Globalization;
using System.Reflection;
using System.Text;
using Akka.Configuration;
using TrainManager.Protocol;
using TrainManager.Protocol.Security;
using TrainManager.Protocol.Serialization;

namespace TrainManager.Protocol.Configuration;

/// <summary>
/// Builds the configuration an actor system of the cluster starts with, in layers (highest first): what is not a
/// setting (the cluster provider, our serializer), the journal derived from <c>trainmanager.persistence</c>, flags and
/// environment variables (<see cref="ClusterOverrides"/>), the <c>--config</c> file, and the built-in cluster.hocon.
/// </summary>
public static class ClusterConfiguration
{
    /// <summary>Every member of a Train Manager cluster has this actor system name.</summary>
    public const string SystemName = "trainmanager";

    const string JournalPlugin = "akka.persistence.journal.sql";
    const string SnapshotPlugin = "akka.persistence.snapshot-store.sql";
    const string QueryPlugin = "akka.persistence.query.journal.sql";

    static readonly Lazy<Config> BuiltIn = new(() =>
    {
        using var stream = typeof(ClusterConfiguration).Assembly.GetManifestResourceStream("cluster.hocon")
            ?? throw new InvalidOperationException("cluster.hocon is not embedded in TrainManager.Cluster; the build is broken.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    /// <summary>The built-in defaults: the repository's cluster.hocon, compiled in.</summary>
    public static Config Defaults => BuiltIn.Value;

    // Not settings: a Train Manager member is always a cluster member, and everything of ours that crosses the wire
    // or enters the journal goes through the serializer we chose. Binding System.Object to it as well means a message
    // type nobody registered fails loudly instead of travelling through Akka's type-naming JSON fallback.
    static readonly string Fixed = $$"""
        akka.actor.provider = cluster
        akka.actor.serializers.trainmanager = "{{typeof(ClusterMessageSerializer).FullName}}, {{typeof(ClusterMessageSerializer).Assembly.GetName().Name}}"
        akka.actor.serialization-bindings {
          "{{typeof(IClusterMessage).FullName}}, {{typeof(IClusterMessage).Assembly.GetName().Name}}" = trainmanager
          "System.Object" = trainmanager
        }
        akka.actor.serialization-identifiers {
          "{{typeof(ClusterMessageSerializer).FullName}}, {{typeof(ClusterMessageSerializer).Assembly.GetName().Name}}" = {{ClusterMessageSerializer.Id}}
        }
        # Akka's JSON serializer builds whatever type a message names; nothing of ours uses it, so what arrives for it
        # is refused unread.
        akka.actor.serializers.json = "{{typeof(RefusingSerializer).FullName}}, {{typeof(RefusingSerializer).Assembly.GetName().Name}}"
        # Every connection proves the cluster secret before Akka reads a byte of it.
        akka.remote.dot-netty.tcp.transport-class = "{{typeof(SecretHandshakeTransport).FullName}}, {{typeof(SecretHandshakeTransport).Assembly.GetName().Name}}"
        """;

    /// <summary>The merged configuration for one actor system.</summary>
    /// <param name="configFile">The <c>--config</c> file, or null for the built-in defaults alone.</param>
    /// <exception cref="ClusterConfigurationException">The file is missing or invalid, or a setting cannot be used.</exception>
    public static Config Build(string? configFile, ClusterOverrides overrides)
    {
        var file = configFile is null ? Config.Empty : Load(configFile);
        var merged = ConfigurationFactory.ParseString(OverridesHocon(overrides)).WithFallback(file).WithFallback(Defaults);
        var settings = TrainManagerSettings.From(merged);
        var secret = ResolveSecret(merged);
        var tls = TlsOn(merged);
        return ConfigurationFactory.ParseString(Fixed + "\n" + TlsSeeds(merged, tls) + $"\n{ClusterSecret.ConfigPath} = \"{secret.ToBase64()}\"" +
                                                $"\nakka.remote.dot-netty.tcp.enable-ssl = {(tls ? "on" : "off")}")
            .WithFallback(ConfigurationFactory.ParseString(PersistenceHocon(settings)))
            .WithFallback(merged)
            // The SQL plugin's own defaults (table layout, the query plugin's class), which it adds only once its
            // journal has started: the registry's first query can come before that.
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// The secret this member proves: given inline (the embedded <c>train</c>'s own, tests), from
    /// <c>trainmanager.security.secret-file</c>, or, for a cluster that is only on this machine, the user's default one.
    /// </summary>
    /// <exception cref="ClusterConfigurationException">A node or client reachable from other machines without a secret file.</exception>
    static ClusterSecret ResolveSecret(Config merged)
    {
        if (merged.GetString("trainmanager.security.secret", "") is { Length: > 0 } inline)
            return ClusterSecret.FromBase64(inline, "trainmanager.security.secret");
        if (merged.GetString("trainmanager.security.secret-file", "") is { Length: > 0 } file)
            return ClusterSecret.Load(file);
        if (RemoteHost(merged) is { } remote)
            throw new ClusterConfigurationException(
                $"a cluster on other machines ({remote}) needs its secret: pass --secret-file FILE (TRAINMANAGER_SECRET_FILE, trainmanager.security.secret-file) " +
                "with the cluster's secret file, the same on every node and client. A new cluster's is made by: trainmanager secret FILE");
        return ClusterSecret.LoadOrCreateDefault();
    }

    /// <summary>
    /// <c>trainmanager.security.tls</c>: <c>auto</c> (the default) turns TLS on for a member that listens on, or
    /// reaches, another machine, and leaves it off on loopback; <c>on</c> and <c>off</c> decide outright. Akka's own
    /// <c>enable-ssl = on</c> is honoured as <c>on</c>.
    /// </summary>
    static bool TlsOn(Config merged)
    {
        var mode = merged.GetString("trainmanager.security.tls", "auto").Trim().ToLowerInvariant();
        return mode switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            "auto" => merged.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false) || RemoteHost(merged) is not null,
            _ => throw new ClusterConfigurationException($"trainmanager.security.tls is '{mode}'; write auto (TLS whenever other machines are involved), on or off."),
        };
    }

    /// <summary>The first address of this member or its seeds that is not this machine's loopback; null when all are.</summary>
    static string? RemoteHost(Config merged) =>
        new[] { merged.GetString("akka.remote.dot-netty.tcp.hostname", "") }.Concat(merged.GetStringList("akka.cluster.seed-nodes").Select(HostOf))
            .FirstOrDefault(h => !ClusterSecret.IsLoopback(h));

    static string HostOf(string seed)
    {
        var at = seed.IndexOf('@');
        var address = at < 0 ? seed : seed[(at + 1)..];
        return HostPort.TryParse(address, out var parsed, out _) ? parsed.Host : address;
    }

    static Config Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new ClusterConfigurationException(
                $"cluster configuration '{path}' not found (looked for {full}). Pass the path of a copy of cluster.hocon, or leave --config out to use the defaults.");
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(full));
        }
        catch (Exception e) when (e is not ClusterConfigurationException)
        {
            throw new ClusterConfigurationException($"{path} is not valid HOCON: {e.Message}", e);
        }
    }

    static string OverridesHocon(ClusterOverrides o)
    {
        var lines = new List<string>();
        if (o.Host is { } host)
            lines.Add($"akka.remote.dot-netty.tcp.hostname = {Quote(host)}");
        if (o.Port is { } port)
            lines.Add($"akka.remote.dot-netty.tcp.port = {port.ToString(CultureInfo.InvariantCulture)}");
        if (o.SeedNodes is { } seeds)
            lines.Add($"akka.cluster.seed-nodes = [{string.Join(", ", seeds.Select(s => Quote(SeedAddress(s))))}]");
        if (o.Roles is { } roles)
        {
            foreach (var role in roles.Where(r => r is not (NodeRoles.Coordinator or NodeRoles.Worker or NodeRoles.Cli)))
                throw new ClusterConfigurationException($"'{role}' is not a role; use coordinator, worker, or both (--roles coordinator,worker).");
            lines.Add($"akka.cluster.roles = [{string.Join(", ", roles.Select(Quote))}]");
        }
        if (o.Devices is { } devices)
            lines.Add($"trainmanager.node.devices = [{string.Join(", ", devices.Select(Quote))}]");
        if (o.DataHost is { } dataHost)
            lines.Add($"trainmanager.node.data-host = {Quote(dataHost)}");
        if (o.DataPort is { } dataPort)
            lines.Add($"trainmanager.node.data-port = {dataPort.ToString(CultureInfo.InvariantCulture)}");
        if (o.DataRoots is { } dataRoots)
            lines.Add($"trainmanager.node.data-roots = [{string.Join(", ", dataRoots.Select(Quote))}]");
        if (o.RunsDirectory is { } runs)
            lines.Add($"trainmanager.runs-directory = {Quote(runs)}");
        if (o.StateDirectory is { } state)
            lines.Add($"trainmanager.state-directory = {Quote(state)}");
        if (o.Store is { } store)
            lines.Add($"trainmanager.persistence.store = {Quote(store)}");
        if (o.JournalConnection is { } connection)
            lines.Add($"trainmanager.persistence.postgresql.connection-string = {Quote(connection)}");
        if (o.SecretFile is { } secretFile)
            lines.Add($"trainmanager.security.secret-file = {Quote(Path.GetFullPath(secretFile))}");
        if (o.Secret is { } secret)
            lines.Add($"trainmanager.security.secret = {Quote(secret.ToBase64())}");
        if (o.TlsCertificate is { } certificate)
            lines.Add($"akka.remote.dot-netty.tcp.ssl.certificate.path = {Quote(Path.GetFullPath(certificate))}");
        if (o.CaCertificate is { } authority)
            lines.Add($"trainmanager.security.ca-certificate = {Quote(Path.GetFullPath(authority))}");
        if (o.TlsPassword is { } password)
            lines.Add($"akka.remote.dot-netty.tcp.ssl.certificate.password = {Quote(password)}");
        if (o.Hocon is { } hocon)
            lines.Add(hocon);
        return string.Join('\n', lines);
    }

    /// <summary><c>HOST:PORT</c> → <c>akka.tcp://trainmanager@HOST:PORT</c>; a full address is kept as it is.</summary>
    public static string SeedAddress(string seed)
    {
        var text = seed.Trim();
        if (text.StartsWith(PlainProtocol, StringComparison.Ordinal) || text.StartsWith(TlsProtocol, StringComparison.Ordinal))
            return text;
        if (!HostPort.TryParse(text, out var address, out var problem))
            throw new ClusterConfigurationException(
                $"'{seed}' is not HOST:PORT ({problem}); write e.g. 127.0.0.1:4053 or [::1]:4053 (several: 10.0.0.1:4053,10.0.0.2:4053).");
        return $"akka.tcp://{SystemName}@{address}";
    }

    /// <summary>With TLS on, members are addressed as <c>akka.ssl.tcp://</c>: seeds written as HOST:PORT follow.</summary>
    static string TlsSeeds(Config merged, bool tls)
    {
        if (!tls)
            return "";
        var seeds = merged.GetStringList("akka.cluster.seed-nodes")
            .Select(s => s.StartsWith(PlainProtocol, StringComparison.Ordinal) ? TlsProtocol + s[PlainProtocol.Length..] : s);
        return $"akka.cluster.seed-nodes = [{string.Join(", ", seeds.Select(Quote))}]";
    }

    public const string PlainProtocol = "akka.tcp://";
    public const string TlsProtocol = "akka.ssl.tcp://";

    static string PersistenceHocon(TrainManagerSettings settings)
    {
        var provider = settings.Store == JournalStore.Sqlite ? "SQLite.MS" : "PostgreSQL.15";
        var connection = Quote(settings.JournalConnectionString);
        return $$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPlugin}}"
                sql { connection-string = {{connection}}, provider-name = "{{provider}}", auto-initialize = on }
              }
              snapshot-store {
                plugin = "{{SnapshotPlugin}}"
                sql { connection-string = {{connection}}, provider-name = "{{provider}}", auto-initialize = on }
              }
              query.journal.sql {
                connection-string = {{connection}}
                provider-name = "{{provider}}"
                write-plugin = "{{JournalPlugin}}"
              }
            }
            """;
    }

    public static string QueryJournalId => QueryPlugin;

    static string Quote(string value)
    {
        var escaped = new StringBuilder("\"");
        foreach (var c in value)
            escaped.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        return escaped.Append('"').ToString();
    }
}
