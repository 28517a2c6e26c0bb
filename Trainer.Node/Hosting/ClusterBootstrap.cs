using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Event;
using TrainManager.Protocol.Configuration;
using TrainManager.Coordinator.Scheduling;
using TrainManager.Protocol.Security;
using TrainManager.Node.Workers;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Extensions;

namespace TrainManager.Node.Hosting;

/// <summary>What a started member offers to the code around it.</summary>
/// <param name="Coordinator">The proxy to the experiment registry singleton, wherever it runs: where clients and workers send.</param>
/// <param name="Slots">This node's <c>worker-slots</c> actor, when it has the worker role.</param>
/// <param name="Bundles">This node's cache of bundles, when it has the worker role.</param>
public sealed record ClusterRoles(IActorRef Coordinator, IActorRef? Slots, TrainManager.Node.Bundles.NodeBundles? Bundles = null);

/// <summary>
/// Starts what a member's roles ask for, the same way in the node process (under Akka.Hosting), in the CLI's embedded
/// <c>train</c>, and in tests: the registry singleton (coordinator), the worker slots (worker), and always a proxy to
/// the registry.
/// </summary>
public static class ClusterBootstrap
{
    public const string RegistryManagerName = "experiment-registry";
    public const string RegistryProxyName = "experiment-registry-proxy";

    /// <summary>Creates an actor system from <paramref name="config"/> and starts its roles.</summary>
    /// <exception cref="NodeStartException">The port is taken, or the system could not start; the message says what to do.</exception>
    public static (ActorSystem System, ClusterRoles Roles) Start(Config config, NodeComponents components, bool joinSelfWhenNoSeeds = true)
    {
        var settings = TrainManagerSettings.From(config);
        var system = CreateSystem(config);
        try
        {
            var roles = StartRoles(system, settings, components);
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (joinSelfWhenNoSeeds && config.GetStringList("akka.cluster.seed-nodes").Count == 0)
                cluster.Join(cluster.SelfAddress);
            return (system, roles);
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
    }

    /// <summary><see cref="ActorSystem.Create(string, Config)"/>, with a bind failure told as what it is.</summary>
    public static ActorSystem CreateSystem(Config config)
    {
        try
        {
            var setup = BootstrapSetup.Create().WithConfig(config);
            return ClusterTls.SetupFor(config) is { } tls
                ? ActorSystem.Create(ClusterConfiguration.SystemName, setup.And(tls))
                : ActorSystem.Create(ClusterConfiguration.SystemName, setup);
        }
        catch (Exception e) when (Find<SocketException>(e) is { SocketErrorCode: SocketError.AddressAlreadyInUse })
        {
            throw NodeStartException.PortInUse(config.GetString("akka.remote.dot-netty.tcp.hostname"),
                config.GetInt("akka.remote.dot-netty.tcp.port"), e);
        }
        catch (Exception e) when (e is not (NodeStartException or ClusterConfigurationException))
        {
            throw new NodeStartException($"the cluster member could not start: {e.Message}", e);
        }
    }

    /// <summary>Starts the roles of an already created member (Akka.Hosting calls this from <c>WithActors</c>).</summary>
    public static ClusterRoles StartRoles(ActorSystem system, TrainManagerSettings settings, NodeComponents components)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{RegistryManagerName}",
            ClusterSingletonProxySettings.Create(system).WithRole(NodeRoles.Coordinator)), RegistryProxyName);

        if (cluster.SelfRoles.Contains(NodeRoles.Coordinator))
        {
            if (settings.Store == JournalStore.Sqlite)
                Directory.CreateDirectory(settings.StateDirectory); // SQLite creates the file, not its folder
            system.ActorOf(ClusterSingletonManager.Props(
                ExperimentRegistry.Props(settings.Scheduler with { QueryJournalId = ClusterConfiguration.QueryJournalId },
                    new TrainManager.Coordinator.Bundles.BundleStoreSetup(TrainManager.Coordinator.Bundles.BundleStores.For(settings), settings.Bundles, settings.BundleKey)),
                PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system).WithRole(NodeRoles.Coordinator)), RegistryManagerName);
        }

        IActorRef? slots = null;
        TrainManager.Node.Bundles.NodeBundles? bundles = null;
        if (cluster.SelfRoles.Contains(NodeRoles.Worker))
        {
            if (settings.Devices.Count == 0)
                throw new NodeStartException("this node has the worker role but no devices; give it some, e.g. --devices cpu or --devices cuda:0,cuda:1.");
            var listeners = StartDataListeners(settings);
            system.RegisterOnTermination(() =>
            {
                foreach (var listener in listeners)
                    listener.Dispose();
            });
            slots = system.ActorOf(WorkerSlotsActor.Props(settings.Devices, proxy,
                new WorkerSettings(settings.RunsDirectory, settings.ProgressInterval, components, settings.RingConnectTimeout, settings.CheckpointKey, settings.DataRoots)
                {
                    Bundles = bundles = NodeBundleCache(system, settings),
                    BundleAskTimeout = settings.RequestTimeout,
                },
                listeners, settings.DataHost), ExperimentRegistry.SlotsActorName);
            var handBack = settings.HandBackTimeout;
            // Leaving (SIGTERM, Ctrl+C, a test's shutdown) hands the runs back before the node leaves the cluster:
            // each stops after its batch, writes a checkpoint, and is placed again elsewhere.
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "hand-back-runs", async () =>
            {
                try
                {
                    var handed = await slots.Ask<WorkerSlotsActor.AllHandedBack>(new WorkerSlotsActor.HandBackAll(handBack), handBack + TimeSpan.FromSeconds(5));
                    foreach (var slot in handed.Slots.Where(s => s.RunId is not null))
                        system.Log.Info("Handed back run {0} from {1}", slot.RunId, slot.Slot);
                }
                catch (Exception e)
                {
                    system.Log.Warning("Could not hand back every run before leaving ({0}); the coordinator places them again when this node is gone.", e.Message);
                }
                return Akka.Done.Instance;
            });
        }
        return new ClusterRoles(proxy, slots, bundles);
    }

    /// <summary>The node's cache of fetched bundles, under its state directory; each fetch is logged.</summary>
    static TrainManager.Node.Bundles.NodeBundles NodeBundleCache(ActorSystem system, TrainManagerSettings settings)
    {
        var cache = new TrainManager.Node.Bundles.NodeBundles(Path.Combine(settings.StateDirectory, "bundle-cache"), settings.BundleKey,
            settings.Bundles.NodeCacheMaxSize);
        cache.Fetched += (bundle, took) => system.Log.Info("Fetched {0} ({1}) from the coordinator in {2:0.00} s", bundle,
            TrainManager.Runtime.ByteCount.Text(bundle.Size), took.TotalSeconds);
        return cache;
    }

    /// <summary>One data endpoint per slot, where the ranks of data-parallel runs connect for gradients.</summary>
    /// <exception cref="NodeStartException">A port is taken, or the address cannot be listened on.</exception>
    static List<RingListener> StartDataListeners(TrainManagerSettings settings)
    {
        var address = BindAddress(settings.DataBindHost);
        var listeners = new List<RingListener>();
        try
        {
            for (var i = 0; i < settings.Devices.Count; i++)
            {
                var port = settings.DataPort == 0 ? 0 : settings.DataPort + i;
                try
                {
                    listeners.Add(RingListener.Start(new IPEndPoint(address, port)));
                }
                catch (SocketException e)
                {
                    throw new NodeStartException(e.SocketErrorCode == SocketError.AddressAlreadyInUse
                        ? $"data port {port} on {address} (slot {i}'s gradient endpoint) is already in use; give the node a free range with --data-port (TRAINMANAGER_DATA_PORT, trainmanager.node.data-port), or 0 for any free port."
                        : $"slot {i} cannot listen for gradients on {address}:{port}: {e.Message}", e);
                }
            }
            return listeners;
        }
        catch
        {
            foreach (var listener in listeners)
                listener.Dispose();
            throw;
        }
    }

    /// <summary>The data endpoints listen where remoting does: an IP as given (0.0.0.0 included), a name resolved.</summary>
    static IPAddress BindAddress(string host)
    {
        try
        {
            return DataEndpoints.Address(host);
        }
        catch (SocketException e)
        {
            throw new NodeStartException($"the node's host '{host}' does not resolve to an address to listen on for gradients ({e.Message}); give an IP address with --host.", e);
        }
    }

    static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
            if (e is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions)
                    if (Find<T>(inner) is { } nested)
                        return nested;
        }
        return null;
    }
}

/// <summary>A cluster member could not start; the message says why and what to do.</summary>
public sealed class NodeStartException(string message, Exception? inner = null) : Exception(message, inner)
{
    public static NodeStartException PortInUse(string host, int port, Exception? inner = null) => new(
        $"port {port} on {host} is already in use (another node, or another program, listens there). " +
        $"Start this node on a free port with --port (e.g. --port {port + 1}), or stop the process that holds it (ss -ltnp 'sport = :{port}').",
        inner);
}
