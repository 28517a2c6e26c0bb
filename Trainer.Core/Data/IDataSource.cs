namespace TrainManager.Data;

/// <summary>
/// Where an experiment's data comes from (<c>data { type = csv, path = ... }</c>). Its settings come through the
/// constructor (see <see cref="Components.ComponentAttribute"/>); <see cref="Open"/> reads what is needed to know the
/// splits (a header, an index of rows, the class names) and may leave the samples on disk, to be read per batch.
/// <para>Every path a source reads goes through <see cref="DataContext.Resolve"/>; that is how the framework knows what
/// the source read, for the data roots and the data's fingerprint (<see cref="DatasetFingerprint"/>). A source that finds
/// its files another way reports them through <see cref="IReportsDataFiles"/>.</para>
/// </summary>
public interface IDataSource
{
    /// <exception cref="Experiments.IBadInput">A file is missing or malformed; the message names the file and the place.</exception>
    DataSplits Open();
}

/// <summary>
/// The splits a source opened: <see cref="Train"/> is trained on, <see cref="Validation"/> (when there is one) is
/// evaluated on during training, <see cref="Test"/> is kept for the end. Owns them: disposing the splits disposes each.
/// </summary>
public sealed record DataSplits(IDataset Train, IDataset Test, IDataset? Validation = null) : IDisposable
{
    public void Dispose()
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var split in new[] { Train, Test, Validation })
            if (split is IDisposable disposable && seen.Add(split))
                disposable.Dispose();
    }
}

/// <summary>
/// A data source that knows better than the paths it resolved which files it read: one that finds them somewhere else (a
/// cache, a system package) or reads a few named files of a folder it resolved. After <see cref="IDataSource.Open"/>,
/// <see cref="FilesRead"/> is what its <see cref="DatasetFingerprint"/> is made of, in place of those paths.
/// <para>Most sources need not implement it: one whose every file goes through <see cref="DataContext.Resolve"/> gets its
/// fingerprint with no work of its own (a folder it resolved counts as every file under it).</para>
/// </summary>
public interface IReportsDataFiles
{
    /// <summary>The files (full paths) the last <see cref="IDataSource.Open"/> read, in the order it read them.</summary>
    IReadOnlyList<string> FilesRead { get; }
}

/// <summary>
/// The paths a data source resolved while it opened (<see cref="DataContext.Resolve"/> adds each, once, in the order
/// they were first resolved): what its <see cref="DatasetFingerprint"/> is made of. Safe to add to from several threads.
/// </summary>
public sealed class DataReadLog
{
    readonly List<string> _paths = [];
    readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public void Add(string fullPath)
    {
        lock (_paths)
            if (_seen.Add(fullPath))
                _paths.Add(fullPath);
    }

    public IReadOnlyList<string> Paths
    {
        get { lock (_paths) return [.. _paths]; }
    }
}

/// <summary>
/// What the framework hands a data source besides its settings.
/// </summary>
/// <param name="ExperimentDirectory">The experiment file's folder: relative paths in settings are relative to it.</param>
/// <param name="RunDirectory">The run's directory, where a source records what a person needs to read the run (the
/// label mapping); null when nothing is recorded (tests, <c>check-leakage</c>).</param>
/// <param name="Seed">The experiment's seed, for splits a source makes itself (<c>test-fraction</c>).</param>
/// <param name="DataRoots">The folders data may be read from (a cluster node's data roots, full paths); null: any.</param>
public sealed record DataContext(string ExperimentDirectory, string? RunDirectory = null, long Seed = 42, IReadOnlyList<string>? DataRoots = null)
{
    /// <summary>For code that has no experiment file: paths relative to the working directory, nothing recorded.</summary>
    public static DataContext WorkingDirectory { get; } = new(Directory.GetCurrentDirectory());

    /// <summary>Where <see cref="Resolve"/> notes every path it hands out, so the data's fingerprint can be taken once the
    /// source has opened; null: nothing is noted.</summary>
    public DataReadLog? Reads { get; init; }

    /// <summary>The context of <paramref name="experiment"/>'s data, recording into <paramref name="runDirectory"/>.</summary>
    public static DataContext For(Experiments.Experiment experiment, string? runDirectory) => new(
        experiment.SourceFile is { } file ? Path.GetDirectoryName(Path.GetFullPath(file))! : Directory.GetCurrentDirectory(),
        runDirectory, experiment.Seed);

    /// <summary><paramref name="path"/> as an absolute path: as it is when absolute, else relative to the experiment's folder
    /// (<c>~/</c> is the home folder). Every file a source reads goes through here, so the data roots hold for all of them.</summary>
    /// <exception cref="DatasetNotFoundException">The path is outside <see cref="DataRoots"/>.</exception>
    public string Resolve(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        var full = Path.GetFullPath(Path.Combine(ExperimentDirectory, path));
        if (DataRoots is { } roots && !roots.Any(root => IsUnder(full, Path.GetFullPath(root))))
            throw new DatasetNotFoundException(
                $"'{full}' is outside the folders data is read from here ({string.Join(", ", roots)}). Put the data under one of them, or ask the node's operator to add its folder.");
        Reads?.Add(full);
        return full;
    }

    static bool IsUnder(string path, string root)
    {
        var withSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path == root.TrimEnd(Path.DirectorySeparatorChar) || path.StartsWith(withSeparator, StringComparison.Ordinal);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="fileName"/> in the run directory (atomically), when there
    /// is one; does nothing otherwise.</summary>
    public void Record(string fileName, string text)
    {
        if (RunDirectory is null) return;
        Directory.CreateDirectory(RunDirectory);
        Runtime.AtomicFile.Write(Path.Combine(RunDirectory, fileName), System.Text.Encoding.UTF8.GetBytes(text));
    }
}
