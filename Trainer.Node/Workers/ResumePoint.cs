using TrainManager.Checkpoints;
using TrainManager.Protocol;

namespace TrainManager.Node.Workers;

/// <summary>No checkpoint of a run can be trusted, so it cannot resume; the message lists each and why, and what to do.</summary>
public sealed class NoUsableCheckpointException(string message) : Exception(message), TrainManager.Experiments.IBadInput;

/// <summary>
/// Chooses where a run resumes: the newest checkpoint recorded in the journal whose file still has the SHA-256 the
/// journal recorded when it was written and, under the cluster's checkpoint key, a MAC that verifies (a file edited
/// and re-hashed, or written by another cluster, is refused like a damaged one). A file that fails is not deleted: it is renamed to <c>*.rejected</c>, so the
/// resumed run cannot overwrite it and a person can look at it.
/// </summary>
public static class ResumePoint
{
    public sealed record Choice(CheckpointRecord? Checkpoint, IReadOnlyList<RejectedCheckpoint> Rejected);

    /// <param name="keepAside">Rename a file that fails to <c>*.rejected</c>: one rank of a data-parallel run does it,
    /// the others only skip it (they all check the same files and so choose the same one).</param>
    /// <exception cref="NoUsableCheckpointException">There were checkpoints, and none verified.</exception>
    /// <param name="key">The cluster's checkpoint key; null: the journal's checksum alone decides.</param>
    public static Choice Choose(IReadOnlyList<CheckpointRecord> newestFirst, CheckpointKey? key = null, bool keepAside = true)
    {
        var rejected = new List<RejectedCheckpoint>();
        foreach (var candidate in newestFirst)
        {
            if (!File.Exists(candidate.Path))
            {
                rejected.Add(new RejectedCheckpoint(candidate.Path,
                    "the file is missing (is the shared directory mounted at the same path on this node?)", null));
                continue;
            }
            var actual = CheckpointChecksum.Of(candidate.Path);
            var reason = !string.Equals(actual, candidate.Sha256, StringComparison.OrdinalIgnoreCase)
                ? $"its SHA-256 is {actual[..12]}..., but the journal recorded {candidate.Sha256[..Math.Min(12, candidate.Sha256.Length)]}... when it was written: the file changed after it was saved"
                : Unverified(candidate.Path, key);
            if (reason is null)
                return new Choice(candidate, rejected);
            var keptAs = keepAside ? KeepAside(candidate.Path) : null;
            rejected.Add(new RejectedCheckpoint(candidate.Path, reason, keptAs));
        }
        if (rejected.Count > 0)
            throw new NoUsableCheckpointException(
                $"cannot resume: none of its {rejected.Count} checkpoint(s) can be trusted: " +
                string.Join("; ", rejected.Select(r => $"{r.Path}: {r.Reason}{(r.KeptAs is null ? "" : $" (kept as {r.KeptAs})")}")) +
                ". Nothing was deleted. Restore a checkpoint from a backup to its path and submit the run's experiment.hocon again " +
                "with --resume CHECKPOINT, or submit it again to start from scratch.");
        return new Choice(null, rejected);
    }

    /// <summary>Why the file's own checksum or MAC fails, or null when it verifies (or there is no key to check with).</summary>
    static string? Unverified(string path, CheckpointKey? key)
    {
        if (key is null)
            return null;
        try
        {
            new CheckpointStore(Path.GetDirectoryName(path)!, key).Verify(path);
            return null;
        }
        catch (CheckpointAuthenticationException e)
        {
            return e.Reason;
        }
        catch (CheckpointCorruptException e)
        {
            return e.Reason;
        }
    }

    static string KeepAside(string path)
    {
        var target = path + ".rejected";
        for (var i = 1; File.Exists(target); i++)
            target = $"{path}.rejected.{i}";
        File.Move(path, target);
        return target;
    }
}
