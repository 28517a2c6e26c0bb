using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using TrainManager.Cli.Client;
using TrainManager.Cli.Cluster;
using TrainManager.Components;
using TrainManager.Node.Hosting;
using TrainManager.Node.Workers;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;

namespace TrainManager.Bench;

/// <summary>
/// Users' code on a cluster, on loopback, members in this process each on its own port (so every message crosses
/// remoting and the serializer as between machines):
/// <list type="number">
/// <item>submit-to-first-batch of a run whose bundle (a user project padded to <c>--size-mb</c>, default 20) the node does
/// not have, against the same run once the node has it cached; each repetition on a fresh node (empty cache), the
/// difference of the medians is the cost of fetching, checking, extracting and loading the bundle (target &lt; 3 s);</item>
/// <item>a <c>--transfer-mb</c> (default 200) bundle uploaded to the coordinator and fetched by a node while every member
/// counts the unreachable-member events it sees (target 0): transfers never delay the cluster's heartbeats.</item>
/// </list>
/// <code>dotnet run -c Release --project bench/Bench -- bundle [--size-mb 20] [--reps 3] [--transfer-mb 200]</code>
/// </summary>
public static class BundleBenchmark
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public static int Run(string[] args)
    {
        var sizeMb = int.Parse(BenchArguments.Value(args, "--size-mb", "20"));
        var reps = int.Parse(BenchArguments.Value(args, "--reps", "3"));
        var transferMb = int.Parse(BenchArguments.Value(args, "--transfer-mb", "200"));
        var root = Path.Combine(Path.GetTempPath(), $"tm-bundle-bench-{Guid.NewGuid():N}"[..28]);
        Directory.CreateDirectory(root);
        var cluster = new Members(root);
        try
        {
            var (coordinator, _) = cluster.Start("coordinator", [NodeRoles.Coordinator]);
            var (client, proxy) = cluster.Start("client", [NodeRoles.Cli], join: coordinator);
            var unreachable = cluster.CountUnreachable();

            Console.WriteLine($"Bundle benchmark: {reps} repetition(s), a {sizeMb} MiB bundle, then a {transferMb} MiB transfer; members on loopback in one process");
            var watch = Stopwatch.StartNew();
            var build = BenchProject.Build(Path.Combine(root, "projects"), "BenchModels", sizeMb << 20);
            var (bundle, reference) = Submission.Bundle(build, cluster.Key);
            Console.WriteLine($"  built and packed {reference} ({bundle.Bytes.Length / 1048576.0:0.0} MiB) in {watch.Elapsed.TotalSeconds:0.0} s");
            watch.Restart();
            BundleUpload.RunAsync(client, proxy, bundle, reference, Patience).GetAwaiter().GetResult();
            Console.WriteLine($"  uploaded to the coordinator in {watch.Elapsed.TotalSeconds:0.00} s");

            var uncached = new List<double>();
            var cached = new List<double>();
            for (var rep = 1; rep <= reps; rep++)
            {
                var (worker, _) = cluster.Start($"worker-{rep}", [NodeRoles.Worker], join: coordinator);
                cluster.AwaitSlots(proxy, client, 1);
                var first = SubmitToFirstBatch(client, proxy, reference, $"uncached-{rep}");
                var second = SubmitToFirstBatch(client, proxy, reference, $"cached-{rep}");
                uncached.Add(first);
                cached.Add(second);
                Console.WriteLine($"  repetition {rep}: submit to first batch {first:0.00} s without the bundle, {second:0.00} s with it cached");
                cluster.Leave(worker);
            }
            var difference = Statistics.Median(uncached) - Statistics.Median(cached);
            Console.WriteLine($"median submit-to-first-batch: {Statistics.Median(uncached):0.00} s without the bundle, {Statistics.Median(cached):0.00} s cached: " +
                              $"+{difference:0.00} s for a {sizeMb} MiB bundle (target < 3 s) {(difference < 3 ? "OK" : "MISSED")}");

            // Heartbeats during a large transfer: upload, then a fresh node fetches it for a run.
            watch.Restart();
            var large = BenchProject.Build(Path.Combine(root, "projects"), "LargeModels", (long)transferMb << 20);
            var (largeBundle, largeReference) = Submission.Bundle(large, cluster.Key);
            Console.WriteLine($"  built and packed {largeReference} ({largeBundle.Bytes.Length / 1048576.0:0.0} MiB) in {watch.Elapsed.TotalSeconds:0.0} s");
            var before = unreachable.Count;
            watch.Restart();
            BundleUpload.RunAsync(client, proxy, largeBundle, largeReference, Patience).GetAwaiter().GetResult();
            var upload = watch.Elapsed.TotalSeconds;
            var (fetcher, _) = cluster.Start("worker-large", [NodeRoles.Worker], join: coordinator);
            cluster.AwaitSlots(proxy, client, 1);
            var fetch = SubmitToFirstBatch(client, proxy, largeReference, "large");
            Thread.Sleep(TimeSpan.FromSeconds(2)); // a late detection would show up by now
            var events = unreachable.Count - before;
            Console.WriteLine($"{transferMb} MiB: uploaded in {upload:0.0} s ({transferMb / upload:0} MiB/s), fetched by a node and first batch in {fetch:0.0} s; " +
                              $"unreachable-member events during the transfers: {events} (target 0) {(events == 0 ? "OK" : "MISSED")}");
            cluster.Leave(fetcher);
            return difference < 3 && events == 0 ? 0 : 1;
        }
        finally
        {
            cluster.Dispose();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Seconds from the submission to the first progress report of its first batch; the run is cancelled then.</summary>
    static double SubmitToFirstBatch(ActorSystem client, IActorRef proxy, BundleRef bundle, string name)
    {
        var session = ClusterSession.Over(client, proxy, Patience);
        var firstBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var accepted = (SubmitAccepted)session.AskAsync(new SubmitExperiment(name, BenchProject.Experiment(name), "{}", ProvenanceSummary.Unknown("bench"), "cpu", null,
            "bench", Bundle: bundle)).GetAwaiter().GetResult();
        var ended = session.FollowAsync(accepted.RunId, new FirstBatch(firstBatch));
        var done = Task.WhenAny(firstBatch.Task, ended).GetAwaiter().GetResult();
        var seconds = clock.Elapsed.TotalSeconds;
        if (done == ended)
            throw new InvalidOperationException($"run {accepted.RunId} ended before its first batch: {ended.Result.Status} {ended.Result.Reason}");
        proxy.Tell(new CancelRun(accepted.RunId, "measured"));
        ended.Wait(Patience);
        return seconds;
    }

    sealed class FirstBatch(TaskCompletionSource done) : IRunObserver
    {
        public void OnProgress(RunProgress progress)
        {
            if (progress.BatchIndex >= 1)
                done.TrySetResult();
        }
    }

    /// <summary>The members of the benchmark's cluster: one secret, a SQLite journal, a state folder per member.</summary>
    sealed class Members(string root) : IDisposable
    {
        readonly List<ActorSystem> _systems = [];
        readonly ClusterSecret _secret = ClusterSecret.Random();

        public BundleKey Key => new(_secret.Derive("bundle"));

        public (ActorSystem System, IActorRef Coordinator) Start(string name, string[] roles, ActorSystem? join = null)
        {
            var config = ClusterConfiguration.Build(null, new ClusterOverrides
            {
                Host = "127.0.0.1",
                Port = 0,
                SeedNodes = [],
                Roles = roles,
                Devices = ["cpu"],
                StateDirectory = Path.Combine(root, name),
                RunsDirectory = Path.Combine(root, "runs"),
                Store = "sqlite",
                Secret = _secret,
                Hocon = """
                    akka.loglevel = WARNING
                    akka.stdout-loglevel = WARNING
                    akka.log-dead-letters = off
                    akka.cluster.log-info = off
                    akka.remote.log-remote-lifecycle-events = off
                    trainmanager.worker.progress-interval = 20 ms
                    """,
            });
            var components = new NodeComponents(BenchExtensions.Catalog, _ => ComponentServices.Empty);
            var (system, started) = ClusterBootstrap.Start(config, components, joinSelfWhenNoSeeds: join is null);
            if (join is not null)
                Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(join).SelfAddress);
            _systems.Add(system);
            var up = new TaskCompletionSource();
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
            up.Task.Wait(Patience);
            return (system, started.Coordinator);
        }

        /// <summary>Every member, present and future, counts the unreachable-member events it sees.</summary>
        public Counter CountUnreachable()
        {
            var counter = new Counter();
            foreach (var system in _systems)
                counter.Watch(system);
            _counter = counter;
            return counter;
        }

        Counter? _counter;

        public void AwaitSlots(IActorRef proxy, ActorSystem client, int slots)
        {
            _counter?.WatchAll(_systems);
            var deadline = DateTime.UtcNow + Patience;
            while (proxy.Ask<RunList>(ListRuns.Instance, Patience).GetAwaiter().GetResult().FreeSlots < slots)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("no worker slot registered");
                Thread.Sleep(100);
            }
        }

        public void Leave(ActorSystem system)
        {
            CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).Wait(TimeSpan.FromSeconds(60));
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            _systems.Remove(system);
        }

        public void Dispose()
        {
            foreach (var system in Enumerable.Reverse(_systems))
                system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }

    sealed class Counter
    {
        readonly HashSet<ActorSystem> _watched = [];
        int _count;
        public int Count => Volatile.Read(ref _count);

        public void WatchAll(IEnumerable<ActorSystem> systems)
        {
            foreach (var system in systems)
                Watch(system);
        }

        public void Watch(ActorSystem system)
        {
            if (!_watched.Add(system))
                return;
            var listener = system.ActorOf(Props.Create(() => new Listener(this)));
            Akka.Cluster.Cluster.Get(system).Subscribe(listener, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember));
        }

        sealed class Listener : ReceiveActor
        {
            public Listener(Counter counter) => Receive<ClusterEvent.UnreachableMember>(u =>
            {
                Interlocked.Increment(ref counter._count);
                Console.WriteLine($"  unreachable: {u.Member.Address} (seen by {Akka.Cluster.Cluster.Get(Context.System).SelfAddress})");
            });
        }
    }
}

/// <summary>A user's training project for the benchmarks, compiled against the framework this process runs (referenced,
/// not copied, as the template's packages are), with a file of random bytes beside its assembly to give its bundle a size.</summary>
static class BenchProject
{
    public static ProjectBuild Build(string root, string name, long padding)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        var bin = AppContext.BaseDirectory;
        string Reference(string assembly) =>
            $"""<Reference Include="{assembly}"><HintPath>{Path.Combine(bin, assembly + ".dll")}</HintPath><Private>false</Private></Reference>""";
        File.WriteAllText(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup>
                {Reference("TrainManager.Core")}
                {Reference("TrainManager.Stages")}
                {Reference("TorchSharp")}
              </ItemGroup>
              <ItemGroup><None Include="padding.bin" CopyToOutputDirectory="PreserveNewest" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Model.cs"), $$"""
            using TorchSharp.Modules;
            using TrainManager.Components;
            using static TorchSharp.torch;
            namespace {{name}};
            [Component("bench-mlp")]
            public sealed class BenchMlp : nn.Module<Tensor, Tensor>
            {
                private readonly Sequential net;
                public BenchMlp(int hidden = 32) : base("bench-mlp")
                {
                    net = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10));
                    RegisterComponents();
                }
                public override Tensor forward(Tensor input) => net.forward(input);
            }
            """);
        var bytes = new byte[padding];
        new Random(name.Length).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(folder, "padding.bin"), bytes);
        return TrainingProject.Build(folder);
    }

    public static string Experiment(string name) => $$"""
        name = {{name}}
        seed = 1
        device = cpu
        threads = 1
        epochs = 5
        batch-size = 64
        model { type = bench-mlp }
        data { dataset = fashion-mnist, test-limit = 64 }
        optimizer { type = adam, lr = 0.001 }
        checkpoint { every-epochs = 0, keep = 0 }
        extensions = []
        """;
}
