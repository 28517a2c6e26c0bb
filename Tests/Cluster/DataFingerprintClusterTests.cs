using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>The data a run trains on is the data it was submitted with: the submission carries the fingerprint of the
/// submitter's copy, and a node whose copy differs refuses the run as bad input before training on it.</summary>
public sealed class DataFingerprintClusterTests : ClusterTestKit
{
    [Fact]
    public void A_node_whose_copy_of_the_data_differs_refuses_the_run_and_one_with_the_same_copy_trains_it()
    {
        var hocon = ClusterNodes.Experiment(epochs: 1);
        var here = DatasetFingerprint.Measure(ExperimentLoader.Parse(hocon, "test", components: TestComponents.Catalog), TestComponents.Catalog);
        var (coordinator, roles) = Nodes.Start(Both);
        var client = CreateTestProbe(coordinator);

        var elsewhere = here with { ManifestSha256 = new string('0', 64), Size = here.Size + 1 };
        client.Send(roles.Coordinator, ClusterRequests.Submit(hocon) with { Data = elsewhere });
        var refused = FollowToEnd(client, roles.Coordinator, client.ExpectMsg<SubmitAccepted>(Long).RunId);
        RunAssert.EndedAs(RunStatus.Failed, refused);
        Assert.Equal(FailureKind.BadInput, refused.FailureKind);
        Assert.Contains("differs", refused.Reason);
        Assert.Contains(here.ManifestSha256[..12], refused.Reason);

        client.Send(roles.Coordinator, ClusterRequests.Submit(hocon) with { Data = here });
        RunAssert.EndedAs(RunStatus.Finished, FollowToEnd(client, roles.Coordinator, client.ExpectMsg<SubmitAccepted>(Long).RunId));
    }
}
