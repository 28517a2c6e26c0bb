using TrainManager.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>Protocol messages as a client sends them.</summary>
internal static class ClusterRequests
{
    public static SubmitExperiment Submit(string hocon, string name = "cluster-mlp", string device = "cpu", string? runsRoot = null,
        BundleRef? bundle = null) =>
        new(name, hocon, "{}", ProvenanceSummary.Unknown("test"), device, runsRoot, "tests@localhost", Bundle: bundle);
}
