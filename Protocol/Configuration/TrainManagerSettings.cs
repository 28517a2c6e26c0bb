using Akka.Configuration;

namespace TrainManager.Protocol.Configuration;

/// <summary>Which database holds the journal.</summary>
public enum JournalStore
{
    /// <summary>A file under the state directory: one machine, nothing to install (the embedded default).</summary>
    Sqlite,
    /// <summary>A PostgreSQL server shared by the coordinator nodes: a real cluster.</summary>
    PostgreSql,
}

/// <summary>The <c>trainmanager { ... }</c> section of the merged cluster configuration, read once and checked.</summary>
public sealed partial record TrainManagerSettings
{
    public required IReadOnlyList<string> Devices { get; init; }
    /// <summary>The address a node's data endpoints are advertised under: what the other nodes dial for gradients.</summary>
    public required string DataHost { get; init; }
    /// <summary>The host the data endpoints bind to: remoting's hostname (an IP, 0.0.0.0 included, or a name resolved
    /// when the worker slots start).</summary>
    public required string DataBindHost { get; init; }
    /// <summary>Slot i listens on DataPort + i; 0 lets the system pick free ports.</summary>
    public required int DataPort { get; init; }
    public required string RunsDirectory { get; init; }
    /// <summary>The folders (full paths) an experiment's <c>data.path</c> may name on this node; nothing else is read.</summary>
    public required IReadOnlyList<string> DataRoots { get; init; }
    public required string StateDirectory { get; init; }
    public required JournalStore Store { get; init; }
    public required string JournalConnectionString { get; init; }
    public required SchedulerOptions Scheduler { get; init; }
    public required TimeSpan ProgressInterval { get; init; }
    public required TimeSpan HandBackTimeout { get; init; }
    public required TimeSpan RingConnectTimeout { get; init; }
    public required TimeSpan JoinTimeout { get; init; }
    public required TimeSpan RequestTimeout { get; init; }
    /// <summary>Signs the checkpoints this member's workers write and authenticates the ones they (and its CLI) load:
    /// derived from the cluster secret, so every member of a cluster accepts the others'. Null only for a configuration
    /// that did not come through <see cref="ClusterConfiguration.Build"/> (it has no resolved secret).</summary>
    public required TrainManager.Checkpoints.CheckpointKey? CheckpointKey { get; init; }
    /// <summary>Names the bundles of users' training projects (<see cref="Protocol.BundleKey"/>), derived from the cluster
    /// secret like the checkpoint key; null without a resolved secret.</summary>
    public TrainManager.Protocol.BundleKey? BundleKey { get; init; }
    public required BundleStoreOptions Bundles { get; init; }

    /// <summary>How long a worker waits for its data-parallel peers to connect, unless configured.</summary>
    public static readonly TimeSpan DefaultRingConnectTimeout = TimeSpan.FromMinutes(2);

    public static TrainManagerSettings From(Config config)
    {
        var section = config.GetConfig("trainmanager")
            ?? throw new ClusterConfigurationException("the configuration has no 'trainmanager' section; start from cluster.hocon in the repository root.");
        var devices = section.GetStringList("node.devices").Select(d => d.Trim()).Where(d => d.Length > 0).ToList();
        foreach (var device in devices)
            if (!DeviceName().IsMatch(device))
                throw new ClusterConfigurationException($"'{device}' is not a device; write cpu, cuda or cuda:N (e.g. --devices cpu,cpu or --devices cuda:0,cuda:1).");
        var stateDirectory = Path.GetFullPath(section.GetString("state-directory", ".trainmanager"));
        var storeName = section.GetString("persistence.store", "sqlite").Trim().ToLowerInvariant();
        var store = storeName switch
        {
            "sqlite" => JournalStore.Sqlite,
            "postgresql" or "postgres" => JournalStore.PostgreSql,
            _ => throw new ClusterConfigurationException($"trainmanager.persistence.store is '{storeName}'; use sqlite (one machine) or postgresql (a cluster)."),
        };
        var connection = store == JournalStore.Sqlite
            ? SqliteConnection(section.GetString("persistence.sqlite.path", "journal.db"), stateDirectory)
            : section.GetString("persistence.postgresql.connection-string", "");
        if (string.IsNullOrWhiteSpace(connection))
            throw new ClusterConfigurationException(
                "trainmanager.persistence.store is postgresql but trainmanager.persistence.postgresql.connection-string is empty; " +
                "set it in cluster.hocon or in TRAINMANAGER_JOURNAL_CONNECTION, e.g. Host=127.0.0.1;Port=5432;Database=trainmanager;Username=trainmanager;Password=...");
        var remoteHost = config.GetString("akka.remote.dot-netty.tcp.hostname", "127.0.0.1").Trim();
        var publicHost = config.GetString("akka.remote.dot-netty.tcp.public-hostname", "").Trim();
        var dataHost = section.GetString("node.data-host", "").Trim();
        var advertised = dataHost.Length > 0 ? dataHost : publicHost.Length > 0 ? publicHost : remoteHost;
        var dataPort = section.GetInt("node.data-port", 0);
        if (dataPort < 0 || (dataPort > 0 && dataPort + Math.Max(devices.Count, 1) - 1 > 65535))
            throw new ClusterConfigurationException(
                $"trainmanager.node.data-port (--data-port) is {dataPort}; use 0 (any free port) or a port such that slot i's port + i stays at most 65535 ({devices.Count} slot(s) here).");
        return new TrainManagerSettings
        {
            Devices = devices,
            DataHost = advertised,
            DataBindHost = remoteHost.Length > 0 ? remoteHost : advertised,
            DataPort = dataPort,
            RunsDirectory = Path.GetFullPath(section.GetString("runs-directory", "runs")),
            DataRoots = section.GetStringList("node.data-roots").Where(r => r.Trim().Length > 0).Select(r => Path.GetFullPath(ExpandHome(r.Trim()))).ToList(),
            StateDirectory = stateDirectory,
            Store = store,
            JournalConnectionString = connection,
            Scheduler = new SchedulerOptions(section.GetBoolean("scheduler.recover-on-start", true),
                section.GetTimeSpan("scheduler.confirmation-grace", TimeSpan.FromSeconds(15)), ClusterConfiguration.QueryJournalId,
                section.GetTimeSpan("scheduler.regroup-timeout", SchedulerOptions.DefaultRegroupTimeout),
                SnapshotEvery(section), Positive(section, "scheduler.passivate-after", SchedulerOptions.DefaultPassivateAfter),
                Positive(section, "scheduler.restart-backoff-min", SchedulerOptions.DefaultRestartBackoffMin),
                Positive(section, "scheduler.restart-backoff-max", SchedulerOptions.DefaultRestartBackoffMax)),
            RingConnectTimeout = section.GetTimeSpan("worker.ring-connect-timeout", DefaultRingConnectTimeout),
            ProgressInterval = section.GetTimeSpan("worker.progress-interval", TimeSpan.FromMilliseconds(500)),
            HandBackTimeout = section.GetTimeSpan("worker.hand-back-timeout", TimeSpan.FromMinutes(2)),
            JoinTimeout = section.GetTimeSpan("client.join-timeout", TimeSpan.FromSeconds(10)),
            RequestTimeout = section.GetTimeSpan("client.request-timeout", TimeSpan.FromSeconds(15)),
            CheckpointKey = Security.ClusterSecret.FromConfig(config)?.CheckpointKey(section.GetBoolean("security.accept-unsigned-checkpoints", false)),
            BundleKey = Security.ClusterSecret.FromConfig(config) is { } secret ? new TrainManager.Protocol.BundleKey(secret.Derive("bundle")) : null,
            Bundles = BundleStoreOptions.From(section),
        };
    }

    static int SnapshotEvery(Config section)
    {
        var every = section.GetInt("scheduler.snapshot-every", SchedulerOptions.DefaultSnapshotEvery);
        return every >= 1 ? every : throw new ClusterConfigurationException(
            $"trainmanager.scheduler.snapshot-every is {every}; it must be at least 1 (events between two snapshots of an experiment), e.g. {SchedulerOptions.DefaultSnapshotEvery}.");
    }

    static TimeSpan Positive(Config section, string key, TimeSpan fallback)
    {
        var value = section.GetTimeSpan(key, fallback);
        return value > TimeSpan.Zero ? value : throw new ClusterConfigurationException(
            $"trainmanager.{key} is {value}; it must be a positive duration, e.g. {fallback.TotalSeconds:0.###} s.");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^(cpu|cuda(:[0-9]+)?)$")]
    private static partial System.Text.RegularExpressions.Regex DeviceName();

    static string SqliteConnection(string path, string stateDirectory)
    {
        var file = Path.IsPathRooted(path) ? path : Path.Combine(stateDirectory, path);
        // Default Timeout: several processes (embedded runs side by side) wait for the file's lock instead of failing.
        return $"Data Source={file};Default Timeout=30";
    }
}

/// <summary>A cluster setting that cannot be used; the message names it and what to write instead.</summary>
public sealed class ClusterConfigurationException(string message, Exception? inner = null) : Exception(message, inner), TrainManager.Experiments.IBadInput;

public sealed partial record TrainManagerSettings
{
    static string ExpandHome(string path) => path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
        : path;
}
