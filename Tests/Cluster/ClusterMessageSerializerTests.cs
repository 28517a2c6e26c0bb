using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;
using TrainManager.Protocol.Serialization;

namespace TrainManager.Tests.Cluster;

public sealed class ClusterMessageSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    static readonly SlotAddress Slot = new("akka.tcp://trainmanager@127.0.0.1:4054", 1, "cuda:1");
    static readonly CheckpointRecord Checkpoint = new("/shared/runs/r1/checkpoints/epoch-0002-step-000000300.ckpt", new string('a', 64), 2, 300,
        new Dictionary<string, double> { ["test_accuracy"] = 0.87, ["test_loss"] = double.NaN });
    static readonly TrainingOutcome Outcome = new(3, 0.41, 0.45, 0.86, TimeSpan.FromSeconds(12.5), Checkpoint.Path, null);
    static readonly DateTimeOffset At = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public ClusterMessageSerializerTests() : base(ClusterConfiguration.Build(null, new ClusterOverrides { Port = 0, SeedNodes = [], Roles = ["cli"] })) { }

    ClusterMessageSerializer Serializer => (ClusterMessageSerializer)Sys.Serialization.FindSerializerForType(typeof(IClusterMessage));

    /// <summary>One instance of every message in the manifest table, with its fields filled.</summary>
    IEnumerable<IClusterMessage> Samples()
    {
        var submitted = new ExperimentSubmitted("r1", At, "mlp", 3, "name = mlp", "{\"seed\": 1}",
            new ProvenanceSummary { IsGitRepository = true, Commit = "abc123", Branch = "main", IsDirty = true, TreeId = "def456", UncommittedPatchBytes = 120, Description = "abc123 on main + 120 bytes" }, "cpu", "/runs", "me@host", Checkpoint);
        IExperimentEvent[] events =
        [
            submitted,
            new ExperimentScheduled(At, Slot, 2),
            new ExperimentStarted(At, Slot, "/shared/runs/r1", Checkpoint, [new RejectedCheckpoint("/x.ckpt", "changed", "/x.ckpt.rejected")]),
            new EpochCompleted(At, 2, Checkpoint.Metrics),
            new CheckpointSaved(At, Checkpoint),
            new ExperimentFinished(At, Outcome),
            new ExperimentFailed(At, "out of memory", FailureKind.RunFailed, "/shared/runs/r1/error.txt"),
            new ExperimentCancelled(At, "by me"),
            new ExperimentRequeued(At, "node left"),
            new WorkerLost(At, 3, 1, Slot with { DataEndpoint = "10.0.0.7:5001" }, "did not answer"),
            submitted with { RunId = "r2", Group = new WorkerGroupSpec(3, 2, TimeSpan.FromSeconds(45)) },
            new ExperimentScheduled(At, Slot, 3, [Slot with { DataEndpoint = "10.0.0.6:5001" }, Slot with { Index = 1, DataEndpoint = "10.0.0.6:5002" }]),
        ];
        var summary = new RunSummary("r1", "mlp", RunStatus.Running, At, At, Slot, 2, 3, "epoch 2", Workers: 3);
        var slotActor = CreateTestProbe().Ref;
        return events.Cast<IClusterMessage>().Concat(
        [
            new SubmitExperiment("mlp", "name = mlp", "{}", ProvenanceSummary.Unknown("none"), "cpu", null, "me@host", Checkpoint),
            new SubmitAccepted("r1", 2, 4),
            new SubmitRejected("bad key"),
            ListRuns.Instance,
            new RunList([summary], 1, 4),
            new GetRun("r1"),
            new RunDetails(summary, events, [Checkpoint], "/shared/runs/r1", "name = mlp"),
            new RunNotFound("r9", "no run"),
            new CancelRun("r1", "by me"),
            new CancelAccepted("r1", RunStatus.Queued),
            new CancelRefused("r1", "already ended"),
            new FollowRun("r1"),
            new UnfollowRun("r1"),
            new RunEventNotice("r1", events[4]),
            new RunProgress("r1", 1, 3, 10, 40, 0.5, 640),
            new RunEnded("r1", RunStatus.Failed, Outcome, "boom", FailureKind.BadInput, "/e.txt", "/shared/runs/r1"),
            new RegisterSlots(Slot.Node, [new SlotRegistration(slotActor, Slot, "r1"), new SlotRegistration(slotActor, Slot, null)]),
            ReportSlots.Instance,
            new SlotIdle(slotActor, Slot),
            new StartTraining("r1", "name = mlp", [Checkpoint], 2),
            new StopTraining("r1", "cancelled"),
            new StartTraining("r1", "name = mlp", [], 3, "/src/mlp.hocon", new CollectiveAssignment(1, ["10.0.0.6:5001", "10.0.0.7:5001"], [1, 2, 3, 4])),
            new StopTraining("r1", "re-forming", Abandon: true),
            new RingLostReport("r1", 1, "rank 1 lost rank 2 during all-reduce #7"),
            new TrainingStartedReport("r1", Slot, "/shared/runs/r1", null, []),
            new TrainingRefusedReport("r1", Slot, "busy"),
            new EpochReport("r1", 1, Checkpoint.Metrics),
            new CheckpointReport("r1", Checkpoint),
            new ProgressReport("r1", 1, 3, 5, 40, 0.7, 320),
            new TrainingFinishedReport("r1", Outcome),
            new TrainingFailedReport("r1", "boom", FailureKind.RunFailed, null),
            new TrainingStoppedReport("r1", "leaving", true, Outcome),
            new EpochReport("r1", 2, Checkpoint.Metrics, Attempt: 2, Seq: 7),
            new ReportsPersisted("r1", 2, 7),
            new ExperimentSnapshot("r1", submitted, RunStatus.Running, Slot, [Slot, Slot with { Index = 2 }], 2, "/shared/runs/r1", 2,
                Checkpoint.Metrics, [Checkpoint], Outcome, "node left", FailureKind.BadInput, "/e.txt", events, At,
                new Dictionary<int, long> { [1] = 4, [2] = 7 }),
            new RunIndexed(summary with { Status = RunStatus.Finished }),
            new RunIndexSnapshot([summary, summary with { RunId = "r2", Slot = null, Detail = null }]),
            submitted with { RunId = "r3", Bundle = Bundle, Data = new TrainManager.Data.DatasetFingerprint(54950048, 4, new string('e', 64), ["/data/fashion-mnist"]) },
            new SubmitExperiment("mine", "name = mine", "{}", ProvenanceSummary.Unknown("none"), "cpu", null, "me@host", Bundle: Bundle),
            new StartTraining("r3", "name = mine", [], 1, Bundle: Bundle),
            new OfferBundle(Bundle),
            new BundleHeld(Bundle.Hash, 20 << 20),
            new BundleRefused(Bundle.Hash, "built against another version"),
            new ReadBundleChunk(Bundle.Hash, 262144, 262144),
            new BundleChunk(Bundle.Hash, 262144, [0, 1, 2, 255, 254]),
            new BundleUnavailable(Bundle.Hash, "removed"),
            new FetchBundle(Bundle.Hash),
            new BundleSource(Bundle.Hash, 20 << 20, slotActor),
        ]);
    }

    static readonly BundleRef Bundle = new(new string('3', 64), 20 << 20, "MyModels.csproj", "MyModels.dll", "0.12.0", "1a2b3c4+changes", new string('9', 64));

    [Fact]
    public void A_bundle_chunk_travels_as_its_bytes_not_as_base64()
    {
        var data = new byte[256 * 1024];
        new Random(3).NextBytes(data);
        var chunk = new BundleChunk(Bundle.Hash, 7 << 20, data);
        var bytes = Serializer.ToBinary(chunk);
        Assert.True(bytes.Length < data.Length + 100, $"{bytes.Length} bytes on the wire for {data.Length} of data");
        var back = (BundleChunk)Serializer.FromBinary(bytes, Serializer.Manifest(chunk));
        Assert.Equal((chunk.Hash, chunk.Offset), (back.Hash, back.Offset));
        Assert.Equal(data, back.Data);
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => Serializer.FromBinary([64, 1, 2], Serializer.Manifest(chunk)));
    }

    [Fact]
    public void Every_message_in_the_manifest_table_has_a_sample_here()
    {
        var covered = Samples().Select(m => Serializer.Manifest(m)).ToHashSet();
        Assert.Equal(ProtocolManifests.All.Order(), covered.Order());
    }

    [Fact]
    public void Every_message_survives_a_round_trip_through_its_versioned_manifest()
    {
        foreach (var message in Samples())
        {
            var manifest = Serializer.Manifest(message);
            Assert.Matches(@"^tm\.[a-z]+\.[a-z-]+\.v[0-9]+$", manifest);
            var back = Serializer.FromBinary(Serializer.ToBinary(message), manifest);
            Assert.Equal(Canonical(message), Canonical(back));
        }
    }

    [Fact]
    public void Events_journaled_before_data_parallel_runs_read_as_single_worker_runs()
    {
        // As a coordinator of the previous version wrote them: no group, no ranks, no data endpoint.
        var scheduled = (ExperimentScheduled)Serializer.FromBinary(
            """{"at":"2026-11-20T10:00:00+00:00","slot":{"node":"akka.tcp://trainmanager@10.0.0.5:4053","index":0,"device":"cpu"},"attempt":2}"""u8.ToArray(),
            "tm.evt.scheduled.v1");
        var current = Encoding.UTF8.GetString(Serializer.ToBinary(Samples().OfType<ExperimentSubmitted>().First()));
        Assert.Contains(",\"group\":null", current);
        var submitted = (ExperimentSubmitted)Serializer.FromBinary(Encoding.UTF8.GetBytes(current.Replace(",\"group\":null", "")), "tm.evt.submitted.v1");

        Assert.Equal([scheduled.Slot], scheduled.Ranks);
        Assert.Null(scheduled.Slot.DataEndpoint);
        Assert.Equal(WorkerGroupSpec.Single, submitted.WorkerGroup);
    }

    [Fact]
    public void A_submission_journaled_before_provenance_became_one_record_reads_the_same()
    {
        // As the journal holds it from when ProvenanceSummary was a record of its own: the same field names.
        var old = (ExperimentSubmitted)Serializer.FromBinary(
            """{"run_id":"r1","at":"2026-11-20T10:00:00+00:00","name":"mlp","epochs":3,"experiment_hocon":"name = mlp","instantiation_json":"{}","provenance":{"is_git_repository":true,"commit":"abc123","branch":"main","is_dirty":true,"tree_id":"def456","uncommitted_patch_bytes":120,"description":"abc123 on main with 120 bytes of changes"},"device":"cpu","runs_root":null,"submitted_from":"me@host","resume_from":null}"""u8.ToArray(),
            "tm.evt.submitted.v1");

        Assert.Equal(new ProvenanceSummary
        {
            IsGitRepository = true, Commit = "abc123", Branch = "main", IsDirty = true, TreeId = "def456", UncommittedPatchBytes = 120,
            Description = "abc123 on main with 120 bytes of changes",
        }, old.Provenance);
        var written = Encoding.UTF8.GetString(Serializer.ToBinary(old));
        foreach (var field in new[] { "\"is_git_repository\":true", "\"commit\":\"abc123\"", "\"branch\":\"main\"", "\"is_dirty\":true",
                     "\"tree_id\":\"def456\"", "\"uncommitted_patch_bytes\":120", "\"description\":\"abc123 on main with 120 bytes of changes\"" })
            Assert.Contains(field, written);
    }

    [Fact]
    public void Events_journaled_before_reports_were_numbered_read_as_unnumbered()
    {
        var epoch = (EpochCompleted)Serializer.FromBinary(
            """{"at":"2026-11-20T10:00:00+00:00","epoch":3,"metrics":{"train_loss":0.5}}"""u8.ToArray(), "tm.evt.epoch.v1");
        var numbered = (EpochCompleted)Serializer.FromBinary(Serializer.ToBinary(epoch with { Attempt = 2, Seq = 9 }), "tm.evt.epoch.v1");

        Assert.Equal((0, 0L), (epoch.Attempt, epoch.Seq));
        Assert.Equal((2, 9L), (numbered.Attempt, numbered.Seq));
    }

    [Fact]
    public void A_journal_event_is_readable_json()
    {
        var json = Encoding.UTF8.GetString(Serializer.ToBinary(new CheckpointSaved(At, Checkpoint)));

        Assert.Contains("\"checkpoint\":{\"path\":\"/shared/runs/r1/checkpoints/epoch-0002-step-000000300.ckpt\"", json);
        Assert.Contains("\"test_loss\":\"NaN\"", json);
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_what_to_do()
    {
        var error = Assert.Throws<SerializationException>(() => Serializer.FromBinary("{}"u8.ToArray(), "System.Diagnostics.Process, System"));

        Assert.Contains("Unknown message manifest 'System.Diagnostics.Process, System'", error.Message);
        Assert.Contains("same version on every node", error.Message);
    }

    [Fact]
    public void Bytes_that_do_not_match_their_manifest_are_refused()
    {
        var error = Assert.Throws<SerializationException>(() => Serializer.FromBinary("{\"run_id\": 5}"u8.ToArray(), "tm.exp.get.v1"));

        Assert.Contains("tm.exp.get.v1", error.Message);
    }

    [Fact]
    public void A_type_without_a_manifest_never_reaches_the_wire()
    {
        // System.Object is bound to our serializer too, so nothing falls back to a serializer that trusts type names.
        var serializer = Sys.Serialization.FindSerializerFor(new UnregisteredMessage("x"));
        Assert.IsType<ClusterMessageSerializer>(serializer);

        var error = Assert.Throws<ArgumentException>(() => Serializer.Manifest(new UnregisteredMessage("x")));
        Assert.Contains("has no manifest in ProtocolManifests", error.Message);
    }

    sealed record UnregisteredMessage(string Text);

    /// <summary>Records compare collections by reference; their JSON is a fair canonical form.</summary>
    string Canonical(object message) => Encoding.UTF8.GetString(Serializer.ToBinary(message));
}
