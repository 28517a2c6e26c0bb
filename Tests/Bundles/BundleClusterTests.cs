using Akka.Actor;
using TrainManager.Cli.Client;
using TrainManager.Cli.Cluster;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Protocol.Configuration;
using TrainManager.Tests.Cluster;

namespace TrainManager.Tests.Bundles;

/// <summary>
/// Users' training projects on a cluster, with members in this process on loopback: bundles offered by a client member
/// and pulled in chunks by the coordinator, fetched by a worker that never had the project, loaded per run in a
/// collectible context; two versions side by side; a coordinator restart between submit and placement; and every
/// refusal (another secret's name, another framework version, bytes that do not match their name, a corrupted chunk).
/// </summary>
public sealed class BundleClusterTests : ClusterTestKit
{
    const string NoShutdownTasks = "akka.coordinated-shutdown.run-by-actor-system-terminate = off";

    BundleKey Key => new(Nodes.Secret.Derive("bundle"));

    string NodeState(string name) => Path.Combine(Nodes.Root, name + "-state");

    (ActorSystem System, IActorRef Coordinator) Client(ActorSystem join)
    {
        var (client, roles) = Nodes.Start([NodeRoles.Cli], join: join);
        AwaitCondition(() => Akka.Cluster.Cluster.Get(client).State.Members.Any(m => m.HasRole(NodeRoles.Coordinator) && m.Status == Akka.Cluster.MemberStatus.Up), Long);
        return (client, roles.Coordinator);
    }

    /// <summary>A paced run of <see cref="UserProjects.Model"/>: each batch at least <paramref name="batchMs"/> ms.</summary>
    static string Paced(string name, int epochs, int batchMs) =>
        UserProjects.Experiment(name, epochs, $", {{ type = {PaceExtension.Type}, min-batch-ms = {batchMs} }}");

    [Fact]
    public async Task Two_versions_of_one_project_train_side_by_side_on_a_node_that_never_had_it_and_each_load_context_is_collected_after_its_run()
    {
        var projects = TestDirectory.Create("bundle-versions");
        var v1 = UserProjects.Build(projects, "UserModels", "v1");
        var v2 = UserProjects.Build(projects, "UserModels", "v2");
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var (_, workerRoles) = Nodes.Start(WorkerOnly, devices: ["cpu", "cpu"], join: coordinator, stateDirectory: NodeState("worker"));
        var (client, proxy) = Client(coordinator);

        var (bundle1, ref1) = Submission.Bundle(v1, Key);
        var (bundle2, ref2) = Submission.Bundle(v2, Key);
        Assert.NotEqual(ref1.Hash, ref2.Hash);
        Assert.Equal(bundle1.Bytes.LongLength, await BundleUpload.RunAsync(client, proxy, bundle1, ref1, Long));
        // Offered again (the next submit of the same build): nothing is sent.
        Assert.Equal(0, await BundleUpload.RunAsync(client, proxy, bundle1, ref1, Long));
        Assert.Equal(bundle2.Bytes.LongLength, await BundleUpload.RunAsync(client, proxy, bundle2, ref2, Long));

        var probe = CreateTestProbe(coordinator);
        probe.Send(roles.Coordinator, ClusterRequests.Submit(Paced("v1", epochs: 5, batchMs: 20), bundle: ref1));
        var first = probe.ExpectMsg<SubmitAccepted>(Long).RunId;
        probe.Send(roles.Coordinator, ClusterRequests.Submit(Paced("v2", epochs: 2, batchMs: 20), bundle: ref2));
        var second = probe.ExpectMsg<SubmitAccepted>(Long).RunId;

        var endedSecond = FollowToEnd(probe, roles.Coordinator, second);
        RunAssert.EndedAs(RunStatus.Finished, endedSecond);
        var endedFirst = FollowToEnd(probe, roles.Coordinator, first);
        RunAssert.EndedAs(RunStatus.Finished, endedFirst);

        // Side by side: the second run trained while the first did, on the same node, each with its own code.
        probe.Send(roles.Coordinator, new GetRun(first));
        var firstHistory = probe.ExpectMsg<RunDetails>(Long).History;
        probe.Send(roles.Coordinator, new GetRun(second));
        var secondHistory = probe.ExpectMsg<RunDetails>(Long).History;
        Assert.True(secondHistory.OfType<ExperimentStarted>().Single().At < firstHistory.OfType<ExperimentFinished>().Single().At,
            "the second version's run started before the first one's ended");
        Assert.Equal(firstHistory.OfType<ExperimentStarted>().Single().Slot.Node, secondHistory.OfType<ExperimentStarted>().Single().Slot.Node);
        Assert.Equal("v1", File.ReadAllText(Path.Combine(endedFirst.RunDirectory!, UserProjects.MarkerFile)));
        Assert.Equal("v2", File.ReadAllText(Path.Combine(endedSecond.RunDirectory!, UserProjects.MarkerFile)));
        Assert.Equal(ref1.Hash, TrainManager.Training.RecordedBundle.Read(endedFirst.RunDirectory!)!.Hash);
        Assert.True(File.Exists(Path.Combine(endedFirst.RunDirectory!, "code", "bin", "UserModels.dll")), "the run keeps the build it trained with");
        Assert.True(workerRoles.Bundles!.Holds(ref1.Hash) && workerRoles.Bundles.Holds(ref2.Hash));

        // Each run loaded its bundle in a context of its own, and the first run's is gone once it has ended.
        var contexts = workerRoles.Bundles.LoadContexts;
        Assert.Equal(2, contexts.Count);
        var firstContext = contexts.Single(c => c.RunId == first).Context;
        for (var i = 0; i < 100 && firstContext.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(100);
        }
        Assert.False(firstContext.IsAlive, "the first run's load context was not collected after its run ended");
    }

    [Fact]
    public async Task A_bundle_submitted_before_the_coordinator_restarts_is_still_there_for_the_worker_that_joins_after()
    {
        var projects = TestDirectory.Create("bundle-restart");
        var build = UserProjects.Build(projects, "RestartModels", "v1");
        var (crashing, _) = Nodes.Start(CoordinatorOnly, extraHocon: NoShutdownTasks);
        var (client, proxy) = Client(crashing);
        var (bundle, reference) = Submission.Bundle(build, Key);
        await BundleUpload.RunAsync(client, proxy, bundle, reference, Long);
        var probe = CreateTestProbe(client);
        probe.Send(proxy, ClusterRequests.Submit(UserProjects.Experiment("restart", epochs: 1), bundle: reference));
        var runId = probe.ExpectMsg<SubmitAccepted>(Long).RunId;

        await client.Terminate().WaitAsync(Long);
        await crashing.Terminate().WaitAsync(Long);

        var (restarted, roles) = Nodes.Start(CoordinatorOnly);
        Nodes.Start(WorkerOnly, join: restarted, stateDirectory: NodeState("late-worker"));
        var observer = CreateTestProbe(restarted);
        var ended = FollowToEnd(observer, roles.Coordinator, runId);
        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal("v1", File.ReadAllText(Path.Combine(ended.RunDirectory!, UserProjects.MarkerFile)));
    }

    [Fact]
    public async Task Bundles_that_are_not_what_they_claim_are_refused_with_a_clear_reason_and_a_good_one_still_runs()
    {
        var projects = TestDirectory.Create("bundle-refusals");
        var build = UserProjects.Build(projects, "RefusedModels", "v1");
        var (coordinator, roles) = Nodes.Start(CoordinatorOnly);
        var (client, proxy) = Client(coordinator);
        var (bundle, reference) = Submission.Bundle(build, Key);

        // Named with another cluster's secret: whoever made it could not have joined this cluster.
        var otherKey = new BundleKey(TrainManager.Protocol.Security.ClusterSecret.Random().Derive("bundle"));
        var foreign = await Assert.ThrowsAsync<BundleRefusedException>(() =>
            BundleUpload.RunAsync(client, proxy, bundle, reference with { Mac = otherKey.Sign(reference.Hash) }, Long));
        Assert.Contains("not signed with this cluster's secret", foreign.Message);

        // Built against another framework version: refused at submit, naming both versions.
        var old = ProjectBundle.Pack(build, frameworkVersion: "0.0.1");
        var oldReference = reference with { Hash = old.Hash, Size = old.Bytes.LongLength, FrameworkVersion = "0.0.1", Mac = Key.Sign(old.Hash) };
        var version = await Assert.ThrowsAsync<BundleRefusedException>(() => BundleUpload.RunAsync(client, proxy, old, oldReference, Long));
        Assert.Contains("0.0.1", version.Message);
        Assert.Contains(ProjectBundle.RunningFrameworkVersion(), version.Message);

        // Bytes that do not hash to the name they were offered under.
        var other = ProjectBundle.Pack(UserProjects.Build(projects, "RefusedModels", "v2"));
        var misnamed = reference with { Hash = other.Hash, Mac = Key.Sign(other.Hash) };
        var wrongHash = await Assert.ThrowsAsync<BundleRefusedException>(() => BundleUpload.RunAsync(client, proxy, bundle, misnamed, Long));
        Assert.Contains("hash to", wrongHash.Message);

        // A submission naming a bundle the coordinator does not hold.
        var probe = CreateTestProbe(client);
        probe.Send(proxy, ClusterRequests.Submit(UserProjects.Experiment("never-uploaded", epochs: 1), bundle: reference));
        Assert.Contains("does not hold", probe.ExpectMsg<SubmitRejected>(Long).Reason);

        // Nothing of that stayed behind, and the real bundle goes through and trains.
        Assert.Equal(bundle.Bytes.LongLength, await BundleUpload.RunAsync(client, proxy, bundle, reference, Long));
        Nodes.Start(WorkerOnly, join: coordinator, stateDirectory: NodeState("worker"));
        probe.Send(proxy, ClusterRequests.Submit(UserProjects.Experiment("good", epochs: 1), bundle: reference));
        var runId = probe.ExpectMsg<SubmitAccepted>(Long).RunId;
        RunAssert.EndedAs(RunStatus.Finished, FollowToEnd(CreateTestProbe(coordinator), roles.Coordinator, runId));
    }

    [Fact]
    public async Task A_chunk_damaged_on_the_way_fails_the_transfer_and_the_next_transfer_starts_over_and_succeeds()
    {
        var bytes = new byte[3 * BundleTransfer.ChunkSize + 1234];
        new Random(5).NextBytes(bytes);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        byte[] Read(long offset, int length) => bytes.AsSpan((int)offset, length).ToArray();
        byte[] Damaged(long offset, int length)
        {
            var chunk = Read(offset, length);
            if (offset == BundleTransfer.ChunkSize)
                chunk[17] ^= 0xFF;
            return chunk;
        }
        var part = Path.Combine(Nodes.Root, "transfer", hash + ".part");

        var damaged = Sys.ActorOf(BundleTransfer.Server(hash, bytes.Length, Damaged));
        var refused = await Assert.ThrowsAsync<BundleCorruptException>(() => BundleTransfer.Download(Sys, hash, bytes.Length, damaged, part));
        Assert.Contains("damaged on the way", refused.Message);
        Assert.False(File.Exists(part), "nothing of a damaged transfer is kept");

        var good = Sys.ActorOf(BundleTransfer.Server(hash, bytes.Length, Read));
        var file = await BundleTransfer.Download(Sys, hash, bytes.Length, good, part);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task An_interrupted_transfer_resumes_from_the_bytes_it_has()
    {
        var bytes = new byte[5 * BundleTransfer.ChunkSize];
        new Random(9).NextBytes(bytes);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var part = Path.Combine(Nodes.Root, "resume", hash + ".part");
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        await File.WriteAllBytesAsync(part, bytes[..(2 * BundleTransfer.ChunkSize + 10)]); // what a cut-off transfer left
        var asked = new List<long>();
        var server = Sys.ActorOf(BundleTransfer.Server(hash, bytes.Length, (offset, length) =>
        {
            lock (asked) asked.Add(offset);
            return bytes.AsSpan((int)offset, length).ToArray();
        }));
        var file = await BundleTransfer.Download(Sys, hash, bytes.Length, server, part);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(file));
        lock (asked) Assert.Equal(2 * BundleTransfer.ChunkSize + 10, asked.Min());
    }

    [Fact]
    public async Task A_node_refuses_a_bundle_of_another_framework_version_or_not_named_with_the_clusters_secret_before_fetching_it()
    {
        var cache = new TrainManager.Node.Bundles.NodeBundles(Path.Combine(Nodes.Root, "cache"), Key);
        var reference = new BundleRef(new string('a', 64), 10, "Mine.csproj", "Mine.dll", "0.0.1", null, Key.Sign(new string('a', 64)));
        var version = await Assert.ThrowsAsync<BundleVersionException>(() => cache.AcquireAsync(reference, ActorRefs.Nobody, Sys, Long));
        Assert.Contains("0.0.1", version.Message);
        Assert.Contains(ProjectBundle.RunningFrameworkVersion(), version.Message);
        var unsigned = reference with { FrameworkVersion = ProjectBundle.RunningFrameworkVersion(), Mac = new string('0', 64) };
        var secret = await Assert.ThrowsAsync<BundleCorruptException>(() => cache.AcquireAsync(unsigned, ActorRefs.Nobody, Sys, Long));
        Assert.Contains("not signed with this cluster's secret", secret.Message);
    }
}
