namespace TrainManager.Provenance;

/// <summary>
/// Which code something is: the commit, whether the working tree differed from it, and the git tree id of the working
/// tree as it was. The one record of these fields, for everything that records code: the provenance extension's capture
/// and its provenance.json, and the summary a submission journals (both sides of the cluster see it here). Derived
/// records add what they need around it; the fields keep their names in every JSON form already written.
/// </summary>
public record CodeVersion
{
    public CodeVersion() { }

    public required bool IsGitRepository { get; init; }

    /// <summary>The commit HEAD pointed at; null outside git or in a repository without commits.</summary>
    public virtual string? Commit { get; init; }

    /// <summary>The checked-out branch; null when HEAD is detached.</summary>
    public string? Branch { get; init; }

    /// <summary>Whether the working tree differed from the commit (untracked, non-ignored files count).</summary>
    public bool IsDirty { get; init; }

    /// <summary>Tree id of the working tree as <c>git add -A &amp;&amp; git write-tree</c> would record it.</summary>
    public string? TreeId { get; init; }

    /// <summary>The size of the patch from the commit to <see cref="TreeId"/>; 0 when clean.</summary>
    public long UncommittedPatchBytes { get; init; }
}
