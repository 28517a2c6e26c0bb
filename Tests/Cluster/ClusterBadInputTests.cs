using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TrainManager.Node.Hosting;
using TrainManager.Cli;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;
using TrainManager.Tests.Cli;

namespace TrainManager.Tests.Cluster;

/// <summary>Mistakes around a cluster get a clear error, quickly, and lose nothing.</summary>
public sealed class ClusterBadInputTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    readonly ClusterNodes _nodes = new();

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void A_cli_verb_against_an_unreachable_cluster_fails_fast_and_says_how_to_start_one()
    {
        var port = FreePort();
        var console = new RecordingConsole();
        var watch = Stopwatch.StartNew();

        var code = TrainManagerApp.Run(["runs", "--cluster", $"127.0.0.1:{port}", "--timeout", "2"], console.Console);

        Assert.Equal(ExitCodes.ClusterUnavailable, code);
        Assert.Contains($"no Train Manager cluster answered at 127.0.0.1:{port} within 2 s", console.Output);
        Assert.Contains($"dotnet run --project Trainer.Node -- --port {port}", console.Output);
        Assert.DoesNotContain("   at ", console.Output);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    public void A_node_started_on_a_port_in_use_says_so_and_what_to_do()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var config = ClusterConfiguration.Build(null, new ClusterOverrides
        {
            Port = port, SeedNodes = [], Roles = [NodeRoles.Worker], RunsDirectory = _nodes.RunsDirectory, StateDirectory = _nodes.StateDirectory,
            Hocon = ClusterNodes.TestHocon(),
        });

        var error = Assert.Throws<NodeStartException>(() => ClusterBootstrap.Start(config, ClusterNodes.Components()));

        Assert.Contains($"port {port} on 127.0.0.1 is already in use", error.Message);
        Assert.Contains("--port", error.Message);
    }

    [Fact]
    public void A_malformed_experiment_is_refused_before_anything_reaches_the_cluster()
    {
        var folder = Training.TrainingFixtures.TempDir();
        var file = CliPaths.WriteExperiment(folder, "name = broken\nepochs = 2\nmodel {\n  type = mlp\n");
        var console = new RecordingConsole();

        var code = TrainManagerApp.Run(["submit", file, "--cluster", $"127.0.0.1:{FreePort()}", "--timeout", "30"], console.Console);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains($"{file}, line 3: this is not valid HOCON", console.Output);
    }

    [Fact]
    public void The_coordinator_refuses_an_invalid_experiment_and_journals_nothing()
    {
        var (system, roles) = _nodes.Start([NodeRoles.Coordinator]);
        var client = CreateTestProbe(system);

        client.Send(roles.Coordinator, ClusterRequests.Submit("name = x\nepochs = 2\nbatch-size = 8\nmodel { type = mlp }\ndata { dataset = fashion-mnist }\noptimiser { lr = 1 }"));

        var rejected = client.ExpectMsg<SubmitRejected>(TimeSpan.FromSeconds(30));
        Assert.Contains("optimiser", rejected.Reason);
        client.Send(roles.Coordinator, ListRuns.Instance);
        Assert.Empty(client.ExpectMsg<RunList>(TimeSpan.FromSeconds(10)).Runs);
    }

    [Theory]
    [InlineData("submit", "<EXPERIMENT>")]
    [InlineData("status", "[RUN]")]
    [InlineData("runs", "--cluster <HOST:PORT>")]
    [InlineData("cancel", "<RUN>")]
    [InlineData("logs", "--follow")]
    [InlineData("checkpoints", "<RUN>")]
    public void Every_cluster_verb_has_help_that_names_its_cluster_option(string verb, string expected)
    {
        var console = new RecordingConsole();

        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run([verb, "--help"], console.Console));

        Assert.Contains(expected, console.Output);
        Assert.Contains("--cluster <HOST:PORT>", console.Output);
        Assert.Contains("--timeout <SECONDS>", console.Output);
    }

    [Fact]
    public void A_seed_node_that_is_not_host_and_port_is_a_clear_configuration_error()
    {
        var error = Assert.Throws<ClusterConfigurationException>(() =>
            ClusterConfiguration.Build(null, new ClusterOverrides { SeedNodes = ["localhost"] }));

        Assert.Contains("'localhost' is not HOST:PORT (it has no port); write e.g. 127.0.0.1:4053", error.Message);
    }

    [Theory]
    [InlineData("[::1", "its '[' is never closed")]
    [InlineData("::1:4053", "an IPv6 address needs brackets")]
    [InlineData("127.0.0.1:http", "'http' is not a port")]
    [InlineData("127.0.0.1:70000", "'70000' is not a port")]
    public void A_malformed_cluster_address_exits_2_and_says_what_is_wrong_with_it(string cluster, string problem)
    {
        var console = new RecordingConsole();

        var code = TrainManagerApp.Run(["runs", "--cluster", cluster, "--timeout", "2"], console.Console);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains($"'{cluster}' is not HOST:PORT ({problem}", console.Output);
        Assert.DoesNotContain("   at ", console.Output);
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
