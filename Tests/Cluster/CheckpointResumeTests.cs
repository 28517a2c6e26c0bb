using Akka.Actor;
using TrainManager.Protocol;
using TrainManager.Node.Workers;

namespace TrainManager.Tests.Cluster;

/// <summary>A worker resumes only from a checkpoint whose file still has the checksum the journal recorded.</summary>
public sealed class CheckpointResumeTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(45);
    static readonly SlotAddress Slot = new("akka://test", 0, "cpu");
    readonly string _runs = Training.TrainingFixtures.TempDir();

    /// <summary>Trains a fresh 2-epoch run on a worker slot; returns its journaled checkpoints, oldest first.</summary>
    List<CheckpointRecord> TrainTwoEpochs(string runId, TrainManager.Checkpoints.CheckpointKey? key = null)
    {
        var coordinator = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerActor.Props(Slot, coordinator.Ref, Settings(key)));
        worker.Tell(new StartTraining(runId, ClusterNodes.Experiment(epochs: 2), [], 1));
        var checkpoints = new List<CheckpointRecord>();
        coordinator.FishForMessage(m =>
        {
            if (m is CheckpointReport report)
                checkpoints.Add(report.Checkpoint);
            if (m is ISequencedReport sequenced) // as the experiment does once it has persisted the report
                coordinator.Reply(new ReportsPersisted(sequenced.RunId, sequenced.Attempt, sequenced.Seq));
            return m is SlotIdle;
        }, Long);
        Sys.Stop(worker);
        return checkpoints;
    }

    WorkerSettings Settings(TrainManager.Checkpoints.CheckpointKey? key = null) =>
        new(_runs, TimeSpan.FromSeconds(1), ClusterNodes.Components(), CheckpointKey: key);

    [Fact]
    public void A_checkpoint_edited_and_re_hashed_fails_its_MAC_is_kept_aside_and_the_run_resumes_from_the_one_before()
    {
        var key = TrainManager.Protocol.Security.ClusterSecret.Random().CheckpointKey();
        var checkpoints = TrainTwoEpochs("r-tampered-newest", key);
        var newest = checkpoints[^1];
        Torch.CheckpointTampering.EditWeightAndRehash(newest.Path);
        // The attacker's journal (or a resubmission) records the tampered file's checksum: only the MAC can tell.
        var tampered = newest with { Sha256 = CheckpointChecksum.Of(newest.Path) };
        var edited = File.ReadAllBytes(newest.Path);

        var coordinator = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerActor.Props(Slot, coordinator.Ref, Settings(key)));
        worker.Tell(new StartTraining("r-tampered-newest", ClusterNodes.Experiment(epochs: 3), [tampered, checkpoints[0]], 2));

        var started = coordinator.ExpectMsg<TrainingStartedReport>(Long);
        Assert.Equal(checkpoints[0].Path, started.ResumedFrom!.Path);
        var rejected = Assert.Single(started.RejectedCheckpoints);
        Assert.Contains("its MAC does not verify under this cluster's checkpoint key: it was modified after it was written", rejected.Reason);
        Assert.Equal(edited, File.ReadAllBytes(rejected.KeptAs!));
        var finished = (TrainingFinishedReport)coordinator.FishForMessage(m => m is TrainingFinishedReport or TrainingFailedReport, Long);
        Assert.Equal(3, finished.Outcome.Epochs);
    }

    [Fact]
    public void A_checkpoint_whose_checksum_changed_is_kept_aside_and_the_run_resumes_from_the_one_before()
    {
        var checkpoints = TrainTwoEpochs("r-corrupt-newest");
        var newest = checkpoints[^1];
        var original = File.ReadAllBytes(newest.Path);
        var damaged = (byte[])original.Clone();
        damaged[damaged.Length / 2] ^= 0xFF;
        File.WriteAllBytes(newest.Path, damaged);

        var coordinator = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerActor.Props(Slot, coordinator.Ref, Settings()));
        worker.Tell(new StartTraining("r-corrupt-newest", ClusterNodes.Experiment(epochs: 3), [newest, checkpoints[0]], 2));

        var started = coordinator.ExpectMsg<TrainingStartedReport>(Long);
        Assert.Equal(checkpoints[0].Path, started.ResumedFrom!.Path);
        var rejected = Assert.Single(started.RejectedCheckpoints);
        Assert.Contains("SHA-256", rejected.Reason);
        Assert.Equal(damaged, File.ReadAllBytes(rejected.KeptAs!)); // nothing lost: the damaged file is still there to look at
        var finished = (TrainingFinishedReport)coordinator.FishForMessage(m => m is TrainingFinishedReport or TrainingFailedReport, Long);
        Assert.Equal(3, finished.Outcome.Epochs);
    }

    [Fact]
    public void A_run_whose_checkpoints_all_changed_fails_with_a_clear_error_and_deletes_nothing()
    {
        var checkpoints = TrainTwoEpochs("r-corrupt-all");
        foreach (var checkpoint in checkpoints)
            File.AppendAllText(checkpoint.Path, "tampered");

        var coordinator = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerActor.Props(Slot, coordinator.Ref, Settings()));
        worker.Tell(new StartTraining("r-corrupt-all", ClusterNodes.Experiment(epochs: 3), checkpoints.AsEnumerable().Reverse().ToList(), 2));

        var failed = coordinator.ExpectMsg<TrainingFailedReport>(Long);
        Assert.Equal(FailureKind.BadInput, failed.Kind);
        Assert.Contains("cannot resume: none of its 2 checkpoint(s) can be trusted", failed.Reason);
        Assert.Contains("Nothing was deleted", failed.Reason);
        Assert.All(checkpoints, c => Assert.True(File.Exists(c.Path + ".rejected"), c.Path));
        Assert.True(File.Exists(failed.ErrorFile), "the full error is kept in the run directory");
        // The slot is free once the coordinator has persisted the failure (until then the worker sends it again).
        coordinator.Reply(new ReportsPersisted(failed.RunId, failed.Attempt, failed.Seq));
        coordinator.FishForMessage(m => m is SlotIdle, Long);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(_runs, recursive: true); } catch (IOException) { }
    }
}
