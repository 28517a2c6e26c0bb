using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TrainManager.Components;
using TrainManager.Experiments;

namespace TrainManager.Data;

/// <summary>
/// What an experiment's data source read, in a few numbers: taken on the machine a run is submitted from and checked on
/// every node before it trains, so that a node with another copy of the data refuses the run instead of training on it.
/// <para>The rule. The files are those the source read: every path it resolved through <see cref="DataContext.Resolve"/>
/// (a folder counts as every file under it, recursively, leaving out hidden ones: names starting with a dot), or what it
/// reports through <see cref="IReportsDataFiles"/>. Each file is one line of a manifest: the index of the path it was
/// found under, its name relative to that path (a file's own name when the path is the file), its size, and a SHA-256
/// of a sample of its content (its first and last 64 KiB; the whole file when it is smaller than 128 KiB). A gzip file
/// (named .gz) is described by what it packs: the size and CRC-32 its trailer records for the whole content, and the
/// SHA-256 of the content's first 64 KiB. Lines are in the order the source resolved its paths, and within a folder in
/// ordinal order of their names. <see cref="Size"/> is the total of the sizes, <see cref="ManifestSha256"/> the SHA-256
/// of the manifest's text.</para>
/// <para>What it catches: a file missing, added or renamed; a file of another size; a change within the first or last
/// 64 KiB of a file (any change at all in a file under 128 KiB); any change to what a gzip file packs (its CRC-32). The
/// same data at another absolute path matches, and so do gzip files packed with other header fields (Fashion-MNIST as
/// downloaded and as a distribution's package ships it). What it does not catch: a change in the middle of a larger
/// plain file that keeps its size, which would need the whole data read on every submission. It compares files, not
/// samples: a packed copy (.gz) and an unpacked one of the same data differ.</para>
/// </summary>
/// <param name="Size">Total bytes of the files' content (a gzip file's unpacked size).</param>
/// <param name="Files">How many files.</param>
/// <param name="ManifestSha256">The SHA-256 of the manifest, lower-case hex.</param>
/// <param name="Locations">The folders the files were read from (a folder the source resolved, or a file's folder), in
/// the order they were first read: for a person reading the message, not part of what is compared.</param>
public sealed record DatasetFingerprint(long Size, int Files, string ManifestSha256, IReadOnlyList<string> Locations)
{
    /// <summary>The bytes hashed from each end of a file.</summary>
    public const int SampleBytes = 64 * 1024;

    /// <summary>Whether <paramref name="other"/> describes the same data: same size, file count and manifest, wherever it lies.</summary>
    public bool Matches(DatasetFingerprint other) =>
        Size == other.Size && Files == other.Files && string.Equals(ManifestSha256, other.ManifestSha256, StringComparison.OrdinalIgnoreCase);

    /// <summary>E.g. <c>4 files, 30,878,645 bytes (29.4 MiB), manifest sha256 3f2a9c01b7de…, in /data/fashion-mnist</c>.</summary>
    public string Describe()
    {
        var files = Files == 1 ? "1 file" : $"{Files.ToString("N0", CultureInfo.InvariantCulture)} files";
        var where = Locations.Count == 0 ? "nothing read from files"
            : Locations.Count <= 3 ? "in " + string.Join(", ", Locations)
            : $"in {string.Join(", ", Locations.Take(3))} and {Locations.Count - 3} more folders";
        return $"{files}, {Size.ToString("N0", CultureInfo.InvariantCulture)} bytes{(Size >= 1024 ? $" ({TrainManager.Runtime.ByteCount.Text(Size)})" : "")}, manifest sha256 {ManifestSha256[..Math.Min(12, ManifestSha256.Length)]}…, {where}";
    }

    /// <summary>Equal when every property is, the locations compared item by item (the equality a record of lists lacks).</summary>
    public bool Equals(DatasetFingerprint? other) =>
        other is not null && Size == other.Size && Files == other.Files && ManifestSha256 == other.ManifestSha256 && Locations.SequenceEqual(other.Locations);

    public override int GetHashCode() => HashCode.Combine(Size, Files, ManifestSha256, Locations.Count);

    /// <summary>
    /// The fingerprint of <paramref name="experiment"/>'s data as this machine has it, for the submission: builds the
    /// source the data section names, opens it (nothing recorded, no data roots), and disposes what it opened. The
    /// common settings (limits, validation, prefetch) are left out: they choose within the same files.
    /// </summary>
    /// <exception cref="IBadInput">The data cannot be opened here (missing, malformed, unknown source type).</exception>
    public static DatasetFingerprint Measure(Experiment experiment, ComponentCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(catalog);
        var reads = new DataReadLog();
        var source = catalog.CreateDataSource(experiment.Data, DataContext.For(experiment, runDirectory: null) with { Reads = reads });
        using (source.Open())
            return Of(source, reads);
    }

    /// <summary>The fingerprint of what <paramref name="source"/> read in its last <see cref="IDataSource.Open"/>: the files
    /// it reports, or else the paths it resolved into <paramref name="reads"/>.</summary>
    public static DatasetFingerprint Of(IDataSource source, DataReadLog reads) =>
        Of(source is IReportsDataFiles reporting ? reporting.FilesRead : reads.Paths);

    /// <summary>The fingerprint of <paramref name="paths"/> (files and folders, in the order they were read; paths that do
    /// not exist are left out, as a source may look where the data is not). See the rule in the type's summary.</summary>
    public static DatasetFingerprint Of(IEnumerable<string> paths)
    {
        var manifest = new StringBuilder();
        var counted = new HashSet<string>(StringComparer.Ordinal);
        var locations = new List<string>();
        var seenLocations = new HashSet<string>(StringComparer.Ordinal);
        long size = 0;
        int files = 0, index = 0;
        foreach (var root in paths.Select(p => Path.GetFullPath(p)).Distinct(StringComparer.Ordinal))
        {
            IEnumerable<(string Full, string Name)> entries;
            if (File.Exists(root))
                entries = [(root, Path.GetFileName(root))];
            else if (Directory.Exists(root))
                entries = FilesUnder(root);
            else
                continue;
            var location = File.Exists(root) ? Path.GetDirectoryName(root)! : root;
            if (seenLocations.Add(location)) locations.Add(location);
            foreach (var (full, name) in entries)
            {
                // A file under two of the paths (a folder and its test/ subfolder) is read once and counted once.
                if (!counted.Add(full)) continue;
                var (length, sample) = Content(full);
                manifest.Append(index.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(name).Append('\t')
                    .Append(length.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(sample).Append('\n');
                size += length;
                files++;
            }
            index++;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
        return new DatasetFingerprint(size, files, hash, locations);
    }

    /// <summary>The files under <paramref name="folder"/>, recursively, hidden ones left out, with their names relative to
    /// it ('/'-separated, so a copy on another system names them alike), in ordinal order of those names.</summary>
    static IEnumerable<(string Full, string Name)> FilesUnder(string folder) =>
        Directory.EnumerateFiles(folder, "*", new EnumerationOptions
            {
                RecurseSubdirectories = true,
                AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
                IgnoreInaccessible = false,
            })
            .Where(full => !Path.GetRelativePath(folder, full).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Select(full => (full, Path.GetRelativePath(folder, full).Replace(Path.DirectorySeparatorChar, '/')))
            .OrderBy(entry => entry.Item2, StringComparer.Ordinal)
            .ToList();

    /// <summary>A file's size and content sample, as its manifest line has them: for a gzip file (named .gz) those of the
    /// content it packs, so copies packed with other header fields or another compression level match.</summary>
    static (long Size, string Sample) Content(string path)
    {
        var length = new FileInfo(path).Length;
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) && GzipContent(path, length) is { } packed)
            return packed;
        return (length, SampleSha256(path, length));
    }

    /// <summary>The packed content's size and a sample of it, from the gzip trailer (the CRC-32 of the whole content and its
    /// size, modulo 4 GiB) and the SHA-256 of its first <see cref="SampleBytes"/>, unpacked; null when the file is no
    /// gzip, so it is sampled as it is.</summary>
    static (long Size, string Sample)? GzipContent(string path, long length)
    {
        const int HeaderBytes = 10, TrailerBytes = 8;
        if (length < HeaderBytes + TrailerBytes) return null;
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> magic = stackalloc byte[2], trailer = stackalloc byte[TrailerBytes];
        if (RandomAccess.Read(file, magic, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) return null;
        if (RandomAccess.Read(file, trailer, length - TrailerBytes) != TrailerBytes) return null;
        var crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        var head = new byte[SampleBytes];
        var done = 0;
        try
        {
            using var stream = new System.IO.Compression.GZipStream(new FileStream(file, FileAccess.Read), System.IO.Compression.CompressionMode.Decompress);
            int read;
            while (done < head.Length && (read = stream.Read(head, done, head.Length - done)) > 0)
                done += read;
        }
        catch (InvalidDataException)
        {
            return null;
        }
        var sample = $"gzip:{crc:x8}:{Convert.ToHexStringLower(SHA256.HashData(head.AsSpan(0, done)))}";
        return (size, sample);
    }

    /// <summary>The SHA-256 of the first and last <see cref="SampleBytes"/> of the file (all of it when it is no longer).</summary>
    static string SampleSha256(string path, long length)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[SampleBytes];
        void Hash(long offset, int count)
        {
            var done = 0;
            while (done < count)
            {
                var read = RandomAccess.Read(file, buffer.AsSpan(done, count - done), offset + done);
                if (read == 0) throw new DatasetInvalidException($"{path} ended at {offset + done} bytes while its size is {length}; it changed while it was read. Read the data again when nothing writes to it.");
                done += read;
            }
            hash.AppendData(buffer, 0, count);
        }
        Hash(0, (int)Math.Min(length, SampleBytes));
        if (length > SampleBytes)
        {
            var tail = (int)Math.Min(length - SampleBytes, SampleBytes);
            Hash(length - tail, tail);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Refuses <paramref name="actual"/> unless it matches <paramref name="expected"/>; a null
    /// <paramref name="expected"/> (not recorded: an older submission, an embedded run) is no check at all.</summary>
    /// <exception cref="DatasetMismatchException">The data differs.</exception>
    public static void Check(DatasetFingerprint? expected, DatasetFingerprint actual)
    {
        if (expected is not null && !expected.Matches(actual))
            throw new DatasetMismatchException(expected, actual);
    }
}

/// <summary>
/// Raised on a node whose copy of the experiment's data differs from the copy the run was submitted with; the message
/// names both fingerprints, where the node read its copy, and what to do.
/// </summary>
public sealed class DatasetMismatchException(DatasetFingerprint expected, DatasetFingerprint actual)
    : Exception(
        "The data here differs from the data the experiment was submitted with, so this node refuses to train on it. " +
        $"Submitted: {expected.Describe()}. Here: {actual.Describe()}. " +
        "Copy the same data to every node at the path the experiment names (data.path, or the source's own settings), " +
        "or submit from a machine that holds the nodes' copy."),
        IBadInput
{
    public DatasetFingerprint Expected { get; } = expected;
    public DatasetFingerprint Actual { get; } = actual;
}
