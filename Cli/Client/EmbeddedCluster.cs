using Akka.Actor;
using TrainManager.Node.Hosting;
using TrainManager.Protocol.Configuration;
using TrainManager.Node.Workers;
using TrainManager.Extensions;

namespace TrainManager.Cli.Client;

/// <summary>
/// The embedded default of <c>trainmanager train</c>: a single-node cluster in this process, coordinator and one worker
/// slot per worker the experiment asks for (its ranks exchange gradients over loopback), journal in SQLite under
/// <c>.trainmanager/</c>. The same actors as a real cluster, so a local run is journaled
/// the same way and the code that runs it is the code that runs cluster runs.
/// </summary>
public sealed class EmbeddedCluster : IDisposable
{
    EmbeddedCluster(ActorSystem system, ClusterRoles roles, TrainManagerSettings settings)
    {
        System = system;
        Roles = roles;
        CheckpointKey = settings.CheckpointKey!;
        Session = ClusterSession.Over(system, roles.Coordinator, settings.RequestTimeout, CheckpointKey);
    }

    public ActorSystem System { get; }
    public ClusterRoles Roles { get; }
    public ClusterSession Session { get; }
    /// <summary>The key its worker signs checkpoints with: the user's (see <see cref="Security.ClusterSecret.ForThisUser"/>).</summary>
    public TrainManager.Checkpoints.CheckpointKey CheckpointKey { get; }

    /// <param name="device">The slots' device: the experiment's own.</param>
    /// <param name="components">What the run is built from; its console extensions write to the user's terminal.</param>
    /// <param name="runsDirectory">The node's runs directory: where the experiment asked its runs to go.</param>
    /// <param name="stateDirectory">Where the journal is; null: TRAINMANAGER_STATE_DIRECTORY, else <c>.trainmanager/</c>.</param>
    /// <param name="workers">How many slots: the experiment's workers. On <c>cuda</c> they are cuda:0, cuda:1, ... (one
    /// worker per GPU); on <c>cpu</c> or a named GPU they share it.</param>
    /// <param name="acceptUnsignedCheckpoints">Resume from a checkpoint that carries no MAC (<c>--accept-unsigned-checkpoints</c>).</param>
    /// <exception cref="JournalUnusableException">The journal file is corrupt or locked by another process.</exception>
    /// <exception cref="ClusterConfigurationException">The user's secret file cannot be used.</exception>
    public static EmbeddedCluster Start(string device, NodeComponents components, string runsDirectory, string? stateDirectory = null,
        int workers = 1, bool acceptUnsignedCheckpoints = false)
    {
        var devices = string.Equals(device, "cuda", StringComparison.OrdinalIgnoreCase) && workers > 1
            ? Enumerable.Range(0, workers).Select(i => $"cuda:{i}").ToList()
            : Enumerable.Repeat(device, Math.Max(1, workers)).ToList();
        var overrides = new ClusterOverrides
        {
            Host = "127.0.0.1",
            Port = 0,
            SeedNodes = [],
            Roles = [NodeRoles.Coordinator, NodeRoles.Worker],
            Devices = devices,
            Store = "sqlite",
            StateDirectory = stateDirectory,
            RunsDirectory = runsDirectory,
            DataRoots = ["/"], // the user's own process reads what the user's experiment names
            // The user's secret, not a fresh one: its checkpoint key signs what this run writes, and the next train --resume
            // or eval on this machine must verify it. Nobody can join anyway: it binds to loopback and has no seed nodes.
            Secret = TrainManager.Protocol.Security.ClusterSecret.ForThisUser(),
            Hocon = QuietLogging.Hocon + (acceptUnsignedCheckpoints ? "trainmanager.security.accept-unsigned-checkpoints = on\n" : "") + """
                # This process runs only its own experiment: other runs in the journal belong to other processes.
                trainmanager.scheduler.recover-on-start = off
                akka.cluster.seed-nodes = []
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2 s
                # The CLI owns Ctrl+C and SIGTERM: they cancel the run, which stops after its batch, checkpoints and ends,
                # and only then is this system shut down (Dispose). Akka's own hook would shut it down at once, in a race
                # with that cancel, ending the client's follow of the run before the run could say how it ended.
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                """,
        };
        // Only the state directory may come from the environment: the rest of an embedded run is fixed by design.
        var environment = ClusterOverrides.FromEnvironment();
        overrides = overrides with { StateDirectory = stateDirectory ?? environment.StateDirectory };
        var config = ClusterConfiguration.Build(null, overrides);
        var settings = TrainManagerSettings.From(config);
        SqliteJournalCheck.EnsureUsable(settings); // before the system: a bad journal is one line now, not a hang later
        var (system, roles) = ClusterBootstrap.Start(config, components);
        return new EmbeddedCluster(system, roles, settings);
    }

    public void Dispose()
    {
        var shutdown = CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        shutdown.Wait(TimeSpan.FromSeconds(30));
        System.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
