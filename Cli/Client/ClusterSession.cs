using Akka.Actor;
using Akka.Configuration;
using TrainManager.Node.Hosting;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;
using TrainManager.Extensions;

namespace TrainManager.Cli.Client;

/// <summary>The cluster cannot be used from here: not reachable, no coordinator, no answer. The message says what to do.</summary>
public sealed class ClusterUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The coordinator knows no such run (or the id is ambiguous); the message lists what to do.</summary>
public sealed class RunNotFoundException(string message) : Exception(message);

/// <summary>
/// The CLI's way into a cluster: a short-lived member with role <c>cli</c> (a member rather than a ClusterClient, so
/// it can follow a run with ordinary actor messages and reach the registry through the singleton proxy). It joins,
/// asks, follows, and leaves gracefully when disposed, so the cluster never sees it as a crashed node.
/// </summary>
public sealed class ClusterSession : IDisposable
{
    /// <summary>Whether this session started its member (and so leaves the cluster when disposed).</summary>
    readonly bool _ownsMember;

    ClusterSession(ActorSystem system, IActorRef coordinator, TimeSpan requestTimeout, string target, bool ownsMember,
        TrainManager.Checkpoints.CheckpointKey? checkpointKey)
    {
        _ownsMember = ownsMember;
        CheckpointKey = checkpointKey;
        System = system;
        Coordinator = coordinator;
        RequestTimeout = requestTimeout;
        Target = target;
    }

    public ActorSystem System { get; }
    public IActorRef Coordinator { get; }
    public TimeSpan RequestTimeout { get; }
    /// <summary>What the user asked to reach (for messages).</summary>
    public string Target { get; }
    /// <summary>The cluster's checkpoint key, from the secret this member proved: a checkpoint to resume from is checked
    /// with it before it is submitted.</summary>
    public TrainManager.Checkpoints.CheckpointKey? CheckpointKey { get; }
    /// <summary>Names the bundles this client submits (from the same secret); null for a session over an embedded member.</summary>
    public BundleKey? BundleKey { get; init; }

    /// <summary>Joins the cluster at <paramref name="seedNodes"/> (HOST:PORT each) within the join timeout.</summary>
    /// <exception cref="ClusterUnavailableException">No node answered, or the cluster has no coordinator.</exception>
    public static async Task<ClusterSession> JoinAsync(string? configFile, IReadOnlyList<string>? seedNodes, TimeSpan? joinTimeout = null,
        ClusterOverrides? overrides = null, CancellationToken cancellationToken = default)
    {
        var member = new ClusterOverrides
        {
            Port = 0, // any free port: several CLIs may run at once
            Roles = [NodeRoles.Cli],
            SeedNodes = seedNodes,
            // The CLI prints what matters itself; Akka's association warnings while a cluster is unreachable are noise there.
            Hocon = QuietLogging.Hocon + """
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 3 s
                """,
        };
        var config = ClusterConfiguration.Build(configFile, member.Over(overrides ?? new ClusterOverrides()).Over(ClusterOverrides.FromEnvironment()));
        var settings = TrainManagerSettings.From(config);
        var timeout = joinTimeout ?? settings.JoinTimeout;
        var target = string.Join(",", config.GetStringList("akka.cluster.seed-nodes").Select(s => s[(s.IndexOf('@') + 1)..]));
        if (target.Length == 0)
            throw new ClusterUnavailableException("no cluster address given; pass --cluster HOST:PORT (e.g. --cluster 127.0.0.1:4053) or set TRAINMANAGER_CLUSTER.");

        var system = ClusterBootstrap.CreateSystem(config);
        try
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var finished = await Task.WhenAny(up.Task, WeaklyUpAsync(cluster, waiting.Token), Task.Delay(timeout, waiting.Token));
            await waiting.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (finished != up.Task && cluster.SelfMember.Status == Akka.Cluster.MemberStatus.WeaklyUp)
                finished = up.Task;
            if (finished != up.Task && TrainManager.Protocol.Security.SecurityEvents.For(system).LastRefusal is { } refusal)
                throw new ClusterUnavailableException(
                    $"could not join the cluster at {target}: the connection to {refusal.Peer} failed its secret check ({refusal.Reason}). Use the cluster's secret file: " +
                    "--secret-file FILE or TRAINMANAGER_SECRET_FILE (the file its nodes were started with).");
            if (finished != up.Task)
                throw new ClusterUnavailableException(
                    $"no Train Manager cluster answered at {target} within {timeout.TotalSeconds:0.#} s. Is a node running there? " +
                    $"Start one with: dotnet run --project Trainer.Node -- --port {PortOf(target)}  (or pass the right address with --cluster HOST:PORT).");
            if (!cluster.State.Members.Any(m => m.HasRole(NodeRoles.Coordinator) && m.Status == Akka.Cluster.MemberStatus.Up))
                throw new ClusterUnavailableException(
                    $"the cluster at {target} has no coordinator node: nothing there keeps experiments. Start a node with the coordinator role: " +
                    "dotnet run --project Trainer.Node -- --roles coordinator,worker");
            var coordinator = system.ActorOf(Akka.Cluster.Tools.Singleton.ClusterSingletonProxy.Props($"/user/{ClusterBootstrap.RegistryManagerName}",
                Akka.Cluster.Tools.Singleton.ClusterSingletonProxySettings.Create(system).WithRole(NodeRoles.Coordinator)), ClusterBootstrap.RegistryProxyName);
            return new ClusterSession(system, coordinator, settings.RequestTimeout, target, ownsMember: true, settings.CheckpointKey)
            {
                BundleKey = settings.BundleKey,
            };
        }
        catch
        {
            await LeaveAsync(system);
            throw;
        }
    }

    /// <summary>
    /// Completes once this member is WeaklyUp. While a member is unreachable (a node that crashed and is not downed yet,
    /// up to a minute) the cluster cannot converge and no joining member becomes Up; the leader lets it in as WeaklyUp
    /// after <c>akka.cluster.allow-weakly-up-members</c>, which is all a client needs to ask the coordinator: so
    /// <c>status</c> works right after a node dies, when it is wanted most.
    /// </summary>
    static async Task WeaklyUpAsync(Akka.Cluster.Cluster cluster, CancellationToken cancellationToken)
    {
        try
        {
            while (cluster.SelfMember.Status != Akka.Cluster.MemberStatus.WeaklyUp)
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Up first, or the wait is over: nothing to report from here.
        }
    }

    /// <summary>A session over a member this process already runs (the embedded <c>train</c>).</summary>
    public static ClusterSession Over(ActorSystem system, IActorRef coordinator, TimeSpan requestTimeout,
        TrainManager.Checkpoints.CheckpointKey? checkpointKey = null) =>
        new(system, coordinator, requestTimeout, "this process", ownsMember: false, checkpointKey);

    /// <summary>Sends <paramref name="request"/> to the coordinator and waits for a reply of one of the expected kinds.</summary>
    /// <exception cref="ClusterUnavailableException">No answer within the request timeout.</exception>
    public async Task<object> AskAsync(object request, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Coordinator.Ask<object>(request, RequestTimeout, cancellationToken);
        }
        catch (AskTimeoutException e)
        {
            throw new ClusterUnavailableException(
                $"the coordinator did not answer within {RequestTimeout.TotalSeconds:0.#} s. It may be starting (recovering its journal) " +
                "or its node may be down; try again, and check the coordinator node's log.", e);
        }
    }

    /// <summary>Follows a run until it ends, telling <paramref name="observer"/> what happens.</summary>
    public Task<RunEnded> FollowAsync(string runId, IRunObserver observer, CancellationToken cancellationToken = default)
    {
        var ended = new TaskCompletionSource<RunEnded>(TaskCreationOptions.RunContinuationsAsynchronously);
        var follower = System.ActorOf(RunFollowerActor.Props(Coordinator, runId, observer, ended));
        cancellationToken.Register(() => follower.Tell(PoisonPill.Instance));
        return ended.Task;
    }

    static string PortOf(string target)
    {
        var first = target.Split(',')[0].Trim();
        return HostPort.TryParse(first, out var address, out _) ? address.Port.ToString(global::System.Globalization.CultureInfo.InvariantCulture) : "4053";
    }

    static async Task LeaveAsync(ActorSystem system)
    {
        // Leaving (not just terminating) tells the others this member is gone on purpose, so nobody suspects a crash.
        var shutdown = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromSeconds(10)));
        await Task.WhenAny(system.Terminate(), Task.Delay(TimeSpan.FromSeconds(5)));
    }

    public void Dispose()
    {
        if (_ownsMember)
            LeaveAsync(System).GetAwaiter().GetResult();
    }
}

/// <summary>What a follower hears about a run; called on an actor thread, one call at a time.</summary>
public interface IRunObserver
{
    /// <summary>The run as it stands when following starts (and again, with only the new events, after the coordinator moved).</summary>
    void OnDetails(RunDetails details) { }

    void OnEvent(IExperimentEvent e) { }

    void OnProgress(RunProgress progress) { }
}
