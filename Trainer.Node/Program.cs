using System.Net;
using System.Net.Sockets;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrainManager.Node.Hosting;
using TrainManager.Protocol.Configuration;
using TrainManager.Components;
using TrainManager.Node.Workers;
using TrainManager.Extensions;
using TrainManager.Node;
using TrainManager.Runtime;

// A Train Manager cluster node. Exit codes: 0 stopped cleanly, 1 failed while running, 2 could not start as asked.
NodeCommandLine commandLine;
try
{
    commandLine = NodeCommandLine.Parse(args);
}
catch (NodeUsageException e)
{
    Console.Error.WriteLine($"trainmanager-node: {e.Message}");
    return 2;
}
if (commandLine.Help)
{
    Console.WriteLine(NodeCommandLine.Usage);
    return 0;
}

Akka.Configuration.Config config;
TrainManagerSettings settings;
Akka.Remote.Transport.DotNetty.DotNettySslSetup? tls;
try
{
    config = ClusterConfiguration.Build(commandLine.ConfigFile, commandLine.Flags.Over(ClusterOverrides.FromEnvironment()));
    settings = TrainManagerSettings.From(config);
    var roles = config.GetStringList("akka.cluster.roles");
    if (roles.Contains(NodeRoles.Worker))
    {
        // The backend is loaded (and patched where the system's libstdc++ needs it) before any TorchSharp type is
        // touched; a CUDA slot on a machine without CUDA is refused now, not when its first run arrives.
        TorchRuntime.EnsureLoaded();
        foreach (var device in settings.Devices)
            TorchDevice.Parse(device);
    }
    if (roles.Contains(NodeRoles.Coordinator))
        SqliteJournalCheck.EnsureUsable(settings);
    tls = TrainManager.Protocol.Security.ClusterTls.SetupFor(config); // its files read now: a bad one is one line, exit 2
    NodePort.EnsureFree(config.GetString("akka.remote.dot-netty.tcp.hostname"), config.GetInt("akka.remote.dot-netty.tcp.port"));
}
catch (Exception e) when (e is ClusterConfigurationException or NodeStartException or DeviceUnavailableException or TorchRuntimeException
                               or JournalUnusableException)
{
    Console.Error.WriteLine($"trainmanager-node: {e.Message}");
    return 2;
}

// The node's composition root: one catalog for every run, built here and handed down; a run's console extensions
// write to the node's log with the run id.
var components = new NodeComponents(BuiltInComponents.Catalog(),
    runId => ComponentServices.Empty.With<Spectre.Console.IAnsiConsole>(RunLogConsole.For(runId)));

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(options =>
{
    options.SingleLine = true;
    options.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
});
// SIGTERM and Ctrl+C stop the host, which runs Akka's coordinated shutdown: runs are handed back, then the node leaves.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = settings.HandBackTimeout + TimeSpan.FromSeconds(30));
builder.Services.AddAkka(ClusterConfiguration.SystemName, (akka, _) =>
{
    akka.AddHocon(config, HoconAddMode.Prepend);
    if (tls is not null)
        akka.AddSetup(tls);
    akka.ConfigureLoggers(loggers =>
    {
        loggers.ClearLoggers();
        loggers.AddLoggerFactory();
    });
    akka.WithActors((system, registry) =>
    {
        var roles = ClusterBootstrap.StartRoles(system, settings, components);
        registry.Register<ExperimentRegistryProxy>(roles.Coordinator);
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (config.GetStringList("akka.cluster.seed-nodes").Count == 0)
            cluster.Join(cluster.SelfAddress);
        system.Log.Info("Train Manager node {0} with roles [{1}]; devices [{2}]; runs in {3}; journal: {4}",
            cluster.SelfAddress, string.Join(", ", cluster.SelfRoles), string.Join(", ", settings.Devices), settings.RunsDirectory,
            cluster.SelfRoles.Contains(NodeRoles.Coordinator) ? settings.Store.ToString() : "none (not a coordinator)");
        cluster.RegisterOnMemberUp(() => system.Log.Info("Joined the cluster; seed nodes: {0}",
            string.Join(", ", config.GetStringList("akka.cluster.seed-nodes"))));
    });
});

try
{
    await builder.Build().RunAsync();
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"trainmanager-node: the node stopped: {e.Message}");
    return 1;
}

namespace TrainManager.Node
{
    /// <summary>Marks the registry proxy in Akka.Hosting's actor registry.</summary>
    public sealed class ExperimentRegistryProxy;

    /// <summary>Checks the remoting port before the actor system starts, so a taken port is one clear line, not a stack trace.</summary>
    public static class NodePort
    {
        public static void EnsureFree(string host, int port)
        {
            if (port == 0)
                return;
            var address = host is "0.0.0.0" or "" ? IPAddress.Any
                : IPAddress.TryParse(host, out var parsed) ? parsed
                : Dns.GetHostAddresses(host).FirstOrDefault() ?? throw new NodeStartException($"the host '{host}' does not resolve; give an address this machine has, e.g. --host 127.0.0.1.");
            try
            {
                using var listener = new TcpListener(address, port);
                listener.Start();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw NodeStartException.PortInUse(host, port, e);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                throw new NodeStartException($"this machine has no address {host} to bind; give one of its own with --host (127.0.0.1 for this machine only).", e);
            }
        }
    }
}
