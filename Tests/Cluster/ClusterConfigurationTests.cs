using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;

namespace TrainManager.Tests.Cluster;

/// <summary>Where a setting comes from: flags over environment variables over the --config file over cluster.hocon.</summary>
public sealed class ClusterConfigurationTests
{
    static readonly ClusterOverrides TestSecret = new() { Secret = ClusterSecret.Random() };

    [Fact]
    public void A_node_that_other_machines_reach_refuses_to_start_without_the_cluster_secret_file_and_says_how_to_get_one()
    {
        var error = Assert.Throws<ClusterConfigurationException>(() =>
            ClusterConfiguration.Build(null, new ClusterOverrides { Host = "10.0.0.7", SeedNodes = ["10.0.0.5:4053"] }));
        Assert.Contains("a cluster on other machines (10.0.0.7) needs its secret", error.Message);
        Assert.Contains("--secret-file FILE", error.Message);
        Assert.Contains("trainmanager secret FILE", error.Message);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // file modes: the nodes run on Linux
    public void A_secret_file_that_others_can_read_or_that_is_not_a_secret_is_refused_with_what_to_do()
    {
        var folder = Training.TrainingFixtures.TempDir();
        var path = Path.Combine(folder, "cluster.secret");
        ClusterSecret.Create(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var loaded = ClusterConfiguration.Build(null, new ClusterOverrides { Host = "10.0.0.7", SecretFile = path });
        Assert.Equal(ClusterSecret.Load(path).ToBase64(), loaded.GetString("trainmanager.security.resolved-secret"));

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var readable = Assert.Throws<ClusterConfigurationException>(() => ClusterSecret.Load(path));
        Assert.Contains($"chmod 600 {path}", readable.Message);

        var garbage = Path.Combine(folder, "garbage.secret");
        File.WriteAllText(garbage, "not base64 at all");
        File.SetUnixFileMode(garbage, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("is not a Train Manager cluster secret", Assert.Throws<ClusterConfigurationException>(() => ClusterSecret.Load(garbage)).Message);
        Assert.Contains("already exists", Assert.Throws<ClusterConfigurationException>(() => ClusterSecret.Create(path)).Message);
    }

    [Fact]
    public void The_built_in_defaults_bind_to_loopback_with_sqlite_and_keep_majority()
    {
        var config = ClusterConfiguration.Build(null, new ClusterOverrides());

        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(20), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal("SQLite.MS", config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(JournalStore.Sqlite, TrainManagerSettings.From(config).Store);
    }

    [Fact]
    public void Flags_win_over_environment_variables_which_win_over_the_config_file()
    {
        var folder = Training.TrainingFixtures.TempDir();
        var file = Path.Combine(folder, "cluster.hocon");
        File.WriteAllText(file, """
            akka.remote.dot-netty.tcp { hostname = "10.0.0.1", port = 5000 }
            trainmanager.node.devices = ["cuda:0"]
            trainmanager.persistence.store = postgresql
            trainmanager.persistence.postgresql.connection-string = "Host=db;Database=tm"
            """);
        var environment = ClusterOverrides.FromEnvironment(name => name switch
        {
            "TRAINMANAGER_PORT" => "6000",
            "TRAINMANAGER_DEVICES" => "cpu,cpu",
            _ => null,
        });
        var flags = new ClusterOverrides { Port = 7000 };

        var config = ClusterConfiguration.Build(file, flags.Over(environment).Over(TestSecret));

        Assert.Equal("10.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname")); // the file
        Assert.Equal(7000, config.GetInt("akka.remote.dot-netty.tcp.port")); // the flag
        var settings = TrainManagerSettings.From(config);
        Assert.Equal(["cpu", "cpu"], settings.Devices); // the environment
        Assert.Equal(JournalStore.PostgreSql, settings.Store);
        Assert.Equal("PostgreSQL.15", config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal("Host=db;Database=tm", config.GetString("akka.persistence.query.journal.sql.connection-string"));
    }

    [Fact]
    public void The_data_endpoints_default_to_any_free_port_at_the_remoting_hostname()
    {
        var settings = TrainManagerSettings.From(ClusterConfiguration.Build(null, new ClusterOverrides { Host = "10.0.0.7" }.Over(TestSecret)));

        Assert.Equal("10.0.0.7", settings.DataHost);
        Assert.Equal("10.0.0.7", settings.DataBindHost);
        Assert.Equal(0, settings.DataPort);
    }

    [Fact]
    public void A_data_host_given_is_advertised_while_the_endpoints_bind_to_the_remoting_hostname()
    {
        var settings = TrainManagerSettings.From(ClusterConfiguration.Build(null, new ClusterOverrides { Host = "0.0.0.0", DataHost = "node7.example.org" }.Over(TestSecret)));

        Assert.Equal("node7.example.org", settings.DataHost);
        Assert.Equal("0.0.0.0", settings.DataBindHost);
    }

    [Fact]
    public void Data_settings_from_the_environment_win_over_the_config_file()
    {
        var file = Path.Combine(Training.TrainingFixtures.TempDir(), "cluster.hocon");
        File.WriteAllText(file, """
            trainmanager.node { data-host = "file-host", data-port = 7001 }
            """);
        var environment = ClusterOverrides.FromEnvironment(name => name switch
        {
            "TRAINMANAGER_DATA_HOST" => " 10.0.0.9 ",
            "TRAINMANAGER_DATA_PORT" => "5001",
            _ => null,
        });

        var settings = TrainManagerSettings.From(ClusterConfiguration.Build(file, environment.Over(TestSecret)));

        Assert.Equal("10.0.0.9", settings.DataHost);
        Assert.Equal(5001, settings.DataPort);
    }

    [Fact]
    public void A_data_port_out_of_range_in_the_environment_is_refused_naming_the_variable()
    {
        var error = Assert.Throws<ClusterConfigurationException>(() =>
            ClusterOverrides.FromEnvironment(name => name == "TRAINMANAGER_DATA_PORT" ? "70000" : null));

        Assert.Equal("TRAINMANAGER_DATA_PORT is '70000'; a port is a number from 1 to 65535 (0: any free port).", error.Message);
    }

    [Fact]
    public void An_unknown_device_is_refused_with_the_forms_that_work()
    {
        var error = Assert.Throws<ClusterConfigurationException>(() =>
            ClusterConfiguration.Build(null, new ClusterOverrides { Devices = ["gpu0"] }));

        Assert.Contains("'gpu0' is not a device; write cpu, cuda or cuda:N", error.Message);
    }

    [Fact]
    public void With_tls_on_seed_nodes_given_as_host_and_port_use_the_tls_transport()
    {
        var config = ClusterConfiguration.Build(null, new ClusterOverrides
        {
            SeedNodes = ["10.0.0.5:4053"],
            Hocon = "akka.remote.dot-netty.tcp.enable-ssl = on",
        }.Over(TestSecret));

        Assert.Equal(["akka.ssl.tcp://trainmanager@10.0.0.5:4053"], config.GetStringList("akka.cluster.seed-nodes"));
    }
}
