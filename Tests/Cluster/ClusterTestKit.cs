using Akka.Actor;
using Akka.TestKit;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>A test kit for tests whose cluster members run in this process (<see cref="ClusterNodes"/>), each its own
/// actor system on its own loopback port; all of them are stopped when the test ends.</summary>
public abstract class ClusterTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    protected static readonly string[] CoordinatorOnly = [NodeRoles.Coordinator];
    protected static readonly string[] WorkerOnly = [NodeRoles.Worker];
    protected static readonly string[] Both = [NodeRoles.Coordinator, NodeRoles.Worker];

    private protected ClusterNodes Nodes { get; } = new();

    /// <summary>Submits <paramref name="hocon"/> from <paramref name="client"/>, follows the run, and returns its id
    /// once the first <typeparamref name="TEvent"/> of it has been journaled.</summary>
    protected static string SubmitAndWaitFor<TEvent>(TestProbe client, IActorRef coordinator, string hocon) where TEvent : IExperimentEvent
    {
        client.Send(coordinator, ClusterRequests.Submit(hocon));
        var runId = client.ExpectMsg<SubmitAccepted>(Long).RunId;
        client.Send(coordinator, new FollowRun(runId));
        client.FishForMessage(m => m is RunEventNotice { Event: TEvent }, Long);
        return runId;
    }

    /// <summary>Follows the run from <paramref name="client"/> until it ends.</summary>
    protected static RunEnded FollowToEnd(TestProbe client, IActorRef coordinator, string runId)
    {
        client.Send(coordinator, new FollowRun(runId));
        try
        {
            return (RunEnded)client.FishForMessage(m => m is RunEnded, Long * 2);
        }
        catch (Exception e) when (e is not RunDidNotEndException)
        {
            // Say where it stood: a hang is otherwise just a timeout.
            client.Send(coordinator, new GetRun(runId));
            var details = client.FishForMessage(m => m is RunDetails, TimeSpan.FromSeconds(10)) as RunDetails;
            throw new RunDidNotEndException(
                $"run {runId} did not end within {(Long * 2).TotalSeconds:0} s; it is {details?.Summary.Status} ({details?.Summary.Detail}), history:\n" +
                string.Join("\n", details?.History.Where(h => h is not (EpochCompleted or CheckpointSaved)) ?? []) +
                $"\n(and {details?.History.Count(h => h is EpochCompleted)} epochs)", e);
        }
    }

    sealed class RunDidNotEndException(string message, Exception inner) : Exception(message, inner);

    protected override void Dispose(bool disposing)
    {
        Nodes.Dispose();
        base.Dispose(disposing);
    }
}
