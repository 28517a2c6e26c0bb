using Akka.Actor;
using TrainManager.Coordinator.Cluster.Hosting;
using TrainManager.Extensions;

namespace TrainManager.Coordinator.Cluster.Client;

/// <summary>
/// The embedded default of <c>trainmanager train</c>: a single-node cluster in this process, coordinator and one worker
/// slot, journal in SQLite under <c>.trainmanager/</c>. The same actors as a real cluster, so a local run is journaled
/// the same way and the code that runs it is the code that runs cluster runs.
/// </summary>
public sealed class EmbeddedCluster : IDisposable
{
    EmbeddedCluster(ActorSystem system, ClusterRoles roles, TrainManagerSettings settings)
    {
        System = system;
        Roles = roles;
        Session = ClusterSession.Over(system, roles.Coordinator, settings.RequestTimeout);
    }

    public ActorSystem System { get; }
    public ClusterRoles Roles { get; }
    public ClusterSession Session { get; }

    /// <param name="device">The one slot's device: the experiment's own.</param>
    /// <param name="catalogForRun">The extensions of the run, writing to the user's terminal.</param>
    public static EmbeddedCluster Start(string device, Func<string, ExtensionCatalog> catalogForRun, string? stateDirectory = null)
    {
        var overrides = new ClusterOverrides
        {
            Host = "127.0.0.1",
            Port = 0,
            SeedNodes = [],
            Roles = [NodeRoles.Coordinator, NodeRoles.Worker],
            Devices = [device],
            Store = "sqlite",
            StateDirectory = stateDirectory,
            Hocon = QuietLogging.Hocon + """
                # This process runs only its own experiment: other runs in the journal belong to other processes.
                trainmanager.scheduler.recover-on-start = off
                akka.cluster.seed-nodes = []
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2 s
                """,
        };
        // Only the state directory may come from the environment: the rest of an embedded run is fixed by design.
        var environment = ClusterOverrides.FromEnvironment();
        overrides = overrides with { StateDirectory = stateDirectory ?? environment.StateDirectory };
        var config = ClusterConfiguration.Build(null, overrides);
        var settings = TrainManagerSettings.From(config);
        var (system, roles) = ClusterBootstrap.Start(config, catalogForRun);
        return new EmbeddedCluster(system, roles, settings);
    }

    public void Dispose()
    {
        var shutdown = CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        shutdown.Wait(TimeSpan.FromSeconds(30));
        System.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
