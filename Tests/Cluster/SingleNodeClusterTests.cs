using Akka.Actor;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>One member with both roles: the shape of the embedded <c>trainmanager train</c>.</summary>
public sealed class SingleNodeClusterTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(20);
    readonly ClusterNodes _nodes = new();

    [Fact]
    public void A_submitted_experiment_is_journaled_runs_on_the_local_slot_and_finishes()
    {
        var (system, roles) = _nodes.Start([NodeRoles.Coordinator, NodeRoles.Worker]);
        var client = CreateTestProbe(system);

        client.Send(roles.Coordinator, ClusterRequests.Submit(ClusterNodes.Experiment(epochs: 2)));
        var accepted = client.ExpectMsg<SubmitAccepted>(Long);
        client.Send(roles.Coordinator, new FollowRun(accepted.RunId));
        client.ExpectMsg<RunDetails>(Long);
        var ended = (RunEnded)client.FishForMessage(m => m is RunEnded, Long);

        RunAssert.EndedAs(RunStatus.Finished, ended);
        Assert.Equal(2, ended.Outcome!.Epochs);
        client.Send(roles.Coordinator, new GetRun(accepted.RunId));
        var details = client.ExpectMsg<RunDetails>(Long);
        Assert.Equal(
            ["ExperimentSubmitted", "ExperimentScheduled", "ExperimentStarted", "CheckpointSaved", "EpochCompleted", "CheckpointSaved", "EpochCompleted", "ExperimentFinished"],
            details.History.Select(e => e.GetType().Name));
        Assert.Equal(2, details.Checkpoints.Count);
        Assert.All(details.Checkpoints, c => Assert.True(File.Exists(c.Path), c.Path));
        Assert.StartsWith(_nodes.RunsDirectory, details.RunDirectory);
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
