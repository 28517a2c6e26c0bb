using TrainManager.Node.Hosting;
using TrainManager.Protocol.Security;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Spectre.Console;
using TrainManager.Protocol.Configuration;
using TrainManager.Extensions;
using TrainManager.Components;
using TrainManager.Node.Workers;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// In-process cluster members for tests: each an <see cref="ActorSystem"/> on a free loopback port, with a SQLite
/// journal and a runs directory in a temporary folder shared by the members of one test (like a cluster's shared
/// directory and database). Disposing stops every member it started.
/// </summary>
internal sealed class ClusterNodes : IDisposable
{
    readonly List<ActorSystem> _systems = [];

    public ClusterNodes()
    {
        Root = Path.Combine(Path.GetTempPath(), "tm-cluster-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }
    public string StateDirectory => Path.Combine(Root, "state");
    public string RunsDirectory => Path.Combine(Root, "runs");

    /// <summary>Settings that keep tests quick without changing behaviour: a short wait for workers to confirm
    /// their runs after a restart, and quiet logs.</summary>
    public static string TestHocon(TimeSpan? confirmationGrace = null) => $$"""
        akka.loglevel = {{Environment.GetEnvironmentVariable("TRAINMANAGER_TEST_LOGLEVEL") ?? "WARNING"}}
        akka.stdout-loglevel = {{Environment.GetEnvironmentVariable("TRAINMANAGER_TEST_LOGLEVEL") ?? "WARNING"}}
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.cluster.log-info = off
        akka.remote.log-remote-lifecycle-events = off
        akka.coordinated-shutdown.phases.cluster-exiting.timeout = 3 s
        akka.cluster.singleton.hand-over-retry-interval = 200 ms
        akka.cluster.gossip-interval = 200 ms
        akka.cluster.leader-actions-interval = 200 ms
        trainmanager.scheduler.confirmation-grace = {{(int)(confirmationGrace ?? TimeSpan.FromSeconds(2)).TotalMilliseconds}} ms
        trainmanager.worker.progress-interval = 100 ms
        """;

    /// <summary>The secret these members share (a test's cluster is its own).</summary>
    public ClusterSecret Secret { get; } = ClusterSecret.Random();

    public Config Config(string[] roles, string[]? devices = null, string? extraHocon = null, string? stateDirectory = null) =>
        ClusterConfiguration.Build(null, new ClusterOverrides
        {
            Host = "127.0.0.1",
            Port = 0,
            SeedNodes = [],
            Roles = roles,
            Devices = devices ?? ["cpu"],
            StateDirectory = stateDirectory ?? StateDirectory,
            RunsDirectory = RunsDirectory,
            Store = "sqlite",
            Secret = Secret,
            DataRoots = [Path.GetDirectoryName(Training.TrainingFixtures.SlicePath)!],
            Hocon = (extraHocon ?? "") + "\n" + TestHocon(),
        });

    /// <summary>Starts a member; with <paramref name="join"/> it joins that member's cluster, else it forms its own.</summary>
    /// <param name="stateDirectory">The member's own state directory (a node with a bundle cache of its own); default: the test's shared one.</param>
    public (ActorSystem System, ClusterRoles Roles) Start(string[] roles, string[]? devices = null, ActorSystem? join = null, string? extraHocon = null,
        string? stateDirectory = null)
    {
        var (system, started) = ClusterBootstrap.Start(Config(roles, devices, extraHocon, stateDirectory), Components(), joinSelfWhenNoSeeds: join is null);
        if (join is not null)
            Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(join).SelfAddress);
        _systems.Add(system);
        return (system, started);
    }

    /// <summary>The tests' catalog (the built-ins and <see cref="PaceExtension"/>), its console extensions writing nowhere (a node has no terminal).</summary>
    public static NodeComponents Components() => new(TestComponents.Catalog, _ => ComponentServices.Empty.With(AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(TextWriter.Null),
    })));

    /// <summary>Leaves the cluster the way a node does on SIGTERM: runs are handed back first.</summary>
    public static void Leave(ActorSystem system)
    {
        CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).Wait(TimeSpan.FromSeconds(60));
        system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }

    public static int UpMembers(ActorSystem system) =>
        Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up);

    /// <summary>A small MLP on the committed Fashion-MNIST slice; an epoch of 256 samples takes some 25 ms.</summary>
    public static string Experiment(int epochs = 2, string name = "cluster-mlp", int trainLimit = 256, string device = "cpu", int checkpointEvery = 1,
        string extensions = "") => $$"""
        name = {{name}}
        seed = 7
        device = {{device}}
        threads = 1
        epochs = {{epochs}}
        batch-size = 64
        model { type = mlp, args { hidden = [16], dropout = 0.0 } }
        data {
          dataset = fashion-mnist
          path = "{{Training.TrainingFixtures.SlicePath.Replace("\\", "\\\\")}}"
          train-limit = {{trainLimit}}
          test-limit = 100
        }
        optimizer { type = adam, lr = 0.003 }
        checkpoint { every-epochs = {{checkpointEvery}}, keep = 0 }
        extensions = [ {{extensions}} ]
        """;

    /// <summary>A run that trains for several seconds, long enough to stop, move or cancel it while it runs: in this
    /// process's members each of its batches takes at least 5 ms (<see cref="PaceExtension"/>), so one worker takes at
    /// least 19 s and two 10 s, however idle the machine. Node processes (<paramref name="paced"/> false) have only the
    /// built-in extensions.</summary>
    /// It has the progress extension, as the examples do, so stopping it mid-epoch goes through the extensions' end-of-epoch hooks.
    public static string LongExperiment(string name = "long-mlp", bool paced = true) =>
        Experiment(epochs: 120, name: name, trainLimit: 2000, checkpointEvery: 5,
            extensions: "{ type = progress, mode = lines }" + (paced ? $", {{ type = {PaceExtension.Type}, min-batch-ms = 5 }}" : ""));

    public void Dispose()
    {
        foreach (var system in _systems)
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A background fit of a system stopped abruptly may still be closing a file; the temp folder is cleaned later.
        }
    }
}
