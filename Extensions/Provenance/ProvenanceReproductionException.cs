namespace TrainManager.Extensions.Provenance;

/// <summary>The recorded code could not be recreated; the message says which step failed and why.</summary>
public class ProvenanceReproductionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The tree was recreated but is not the one recorded: the reproduction must not be trusted.</summary>
public sealed class ProvenanceTreeMismatchException(string expectedTreeId, string actualTreeId, string targetDirectory)
    : ProvenanceReproductionException(
        $"The tree recreated in {targetDirectory} is {actualTreeId}, but the run recorded {expectedTreeId}. " +
        "The commit checked out and the patch applied, yet the files differ; check git settings that rewrite files " +
        "on checkout (core.autocrlf, .gitattributes filters such as Git LFS) on both machines.")
{
    public string ExpectedTreeId { get; } = expectedTreeId;
    public string ActualTreeId { get; } = actualTreeId;
}
