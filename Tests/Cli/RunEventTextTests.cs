using TrainManager.Cli.Cluster;
using TrainManager.Data;
using TrainManager.Protocol;

namespace TrainManager.Tests.Cli;

/// <summary>How <c>logs</c> tells the submission of a run: the code, the bundle of the user's project, the data.</summary>
public sealed class RunEventTextTests
{
    static readonly ExperimentSubmitted Submitted = new("r1", DateTimeOffset.UnixEpoch, "shapes", 3, "name = shapes", "{}",
        ProvenanceSummary.Unknown("not in git"), "cpu", null, "me@host", null);

    [Fact]
    public void A_submission_with_a_bundle_and_a_data_fingerprint_names_both()
    {
        var bundle = new BundleRef("0123456789ab" + new string('c', 52), 20 << 20, "Shapes.csproj", "Shapes.dll", "0.9.0", "fedcba987654", "mac");
        var data = new DatasetFingerprint(54_950_048, 4, new string('e', 64), ["/data/fashion-mnist"]);

        var line = RunEventText.Describe(Submitted with { Bundle = bundle, Data = data });

        Assert.Contains("; trains with Shapes.csproj bundle 0123456789ab (commit fedcba987654)", line);
        Assert.Contains("; data 4 files, 54,950,048 bytes (52.4 MiB), manifest sha256 eeeeeeeeeeee…, in /data/fashion-mnist", line);
    }

    [Fact]
    public void A_submission_of_the_frameworks_components_only_names_no_bundle()
    {
        var line = RunEventText.Describe(Submitted);

        Assert.DoesNotContain("bundle", line);
        Assert.DoesNotContain("; data", line);
        Assert.Contains("code not in git", line);
    }
}
