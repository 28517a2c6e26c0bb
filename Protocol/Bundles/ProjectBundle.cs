using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrainManager.Components;
using TrainManager.Experiments;

namespace TrainManager.Protocol.Bundles;

/// <summary>One file of a bundle: its path inside the build (always '/'-separated), size and SHA-256.</summary>
public sealed record BundleFile(string Path, long Size, string Sha256);

/// <summary>What a bundle holds: the project and its main assembly, the framework version it was built against, and
/// every file with its hash. It is the archive's first entry.</summary>
public sealed record BundleManifest(int Format, string Project, string Assembly, string FrameworkVersion, IReadOnlyList<BundleFile> Files);

/// <summary>
/// A training project's build as one content-addressed archive: what a node that never saw the project needs to load
/// it (the project's assemblies, their dependencies the framework does not provide, native files included). The
/// archive is canonical (a tar with the manifest first, then the files in ordinal path order, every time, owner and mode
/// fixed), so the same build gives the same bytes on any machine and its SHA-256 (<see cref="Hash"/>) names it: a
/// bundle already held is never sent again, and what arrives is checked against the name it was asked for.
/// </summary>
public sealed class ProjectBundle
{
    /// <summary>The archive layout; a reader refuses another.</summary>
    public const int FormatVersion = 1;

    const string ManifestEntry = "manifest.json";

    /// <summary>Where a node keeps a cached bundle's manifest, beside its files (and so in a run's <c>code/bin</c>): not a
    /// file of the build, never packed.</summary>
    public const string CachedManifestFile = "bundle-manifest.json";
    const string FilesPrefix = "files/";
    static readonly DateTimeOffset FixedTime = DateTimeOffset.UnixEpoch;
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    ProjectBundle(byte[] bytes, string hash, BundleManifest manifest)
    {
        Bytes = bytes;
        Hash = hash;
        Manifest = manifest;
    }

    /// <summary>The canonical archive.</summary>
    public byte[] Bytes { get; }

    /// <summary>SHA-256 of <see cref="Bytes"/>, lower-case hex: the bundle's name.</summary>
    public string Hash { get; }

    public BundleManifest Manifest { get; }

    /// <summary>The framework version this process runs: TrainManager.Core's assembly version (major.minor.patch), the
    /// same number a project compiled against that version records in its reference (<see cref="ReferencedFrameworkVersion"/>).</summary>
    public static string RunningFrameworkVersion() => Format(typeof(ComponentCatalog).Assembly.GetName().Version);

    /// <summary>The framework version <paramref name="assemblyPath"/> was compiled against: its reference to
    /// TrainManager.Core; null when it has none.</summary>
    public static string? ReferencedFrameworkVersion(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        if (!pe.HasMetadata)
            return null;
        var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        var core = typeof(ComponentCatalog).Assembly.GetName().Name;
        foreach (var handle in metadata.AssemblyReferences)
        {
            var reference = metadata.GetAssemblyReference(handle);
            if (metadata.GetString(reference.Name) == core)
                return Format(reference.Version);
        }
        return null;
    }

    static string Format(Version? version) => version is null ? "0.0.0" : $"{version.Major}.{version.Minor}.{Math.Max(0, version.Build)}";

    /// <summary>Whether the framework (this process) provides <paramref name="fileName"/>: an assembly the runtime or
    /// the application ships. Such files stay out of a bundle: every node loads its own copy, shared with the project.</summary>
    public static bool ProvidedByFramework(string fileName)
    {
        if (!fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return false;
        var name = Path.GetFileName(fileName);
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, name))) return true;
        return (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(path => string.Equals(Path.GetFileName(path), name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Packs <paramref name="build"/>: every file of its output folder except those
    /// <paramref name="providedByFramework"/> says the framework provides (default: <see cref="ProvidedByFramework"/>) and
    /// the framework's own notes beside a build (<c>build.json</c>, <see cref="CachedManifestFile"/>), so a run's
    /// <c>code/bin</c> packs to the bundle it was extracted from.</summary>
    public static ProjectBundle Pack(ProjectBuild build, string? frameworkVersion = null, Func<string, bool>? providedByFramework = null)
    {
        providedByFramework ??= ProvidedByFramework;
        var root = Path.GetFullPath(build.OutputDirectory);
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Relative: Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Where(f => f.Relative is not (ProjectBuild.DescriptionFile or CachedManifestFile))
            .Where(f => f.Relative == build.AssemblyFile || !providedByFramework(f.Relative))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
        if (!files.Any(f => f.Relative == build.AssemblyFile))
            throw new ProjectBuildException($"the build in {root} has no {build.AssemblyFile}; build the training project again.");
        var contents = files.Select(f => (f.Relative, Bytes: File.ReadAllBytes(f.Full))).ToList();
        var manifest = new BundleManifest(FormatVersion, Path.GetFileName(build.ProjectFile), build.AssemblyFile,
            frameworkVersion ?? ReferencedFrameworkVersion(Path.Combine(root, build.AssemblyFile)) ?? RunningFrameworkVersion(),
            contents.Select(c => new BundleFile(c.Relative, c.Bytes.LongLength, Sha256(c.Bytes))).ToList());

        using var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(Entry(ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest, Json)));
            foreach (var (relative, bytes) in contents)
                writer.WriteEntry(Entry(FilesPrefix + relative, bytes));
        }
        var archiveBytes = archive.ToArray();
        return new ProjectBundle(archiveBytes, Sha256(archiveBytes), manifest);
    }

    /// <summary>Reads a bundle that was asked for by <paramref name="expectedHash"/>: the bytes must hash to it, the
    /// manifest must be of this format, and every file must be listed with its size and hash, under the bundle's root.</summary>
    /// <exception cref="BundleCorruptException">Anything else: the message says what did not match.</exception>
    public static ProjectBundle Read(byte[] bytes, string expectedHash)
    {
        var hash = Sha256(bytes);
        if (!string.Equals(hash, expectedHash, StringComparison.OrdinalIgnoreCase))
            throw new BundleCorruptException($"the bundle received hashes to {hash}, not to {expectedHash} as asked; it was damaged on the way or is another bundle. Fetch it again.");
        var entries = ReadEntries(bytes, expectedHash);
        if (entries.Count == 0 || entries[0].Name != ManifestEntry)
            throw new BundleCorruptException($"bundle {expectedHash} does not start with its manifest.");
        BundleManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BundleManifest>(entries[0].Bytes, Json)
                ?? throw new JsonException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new BundleCorruptException($"bundle {expectedHash} has an unreadable manifest: {e.Message}");
        }
        if (manifest.Format != FormatVersion)
            throw new BundleCorruptException($"bundle {expectedHash} is of format {manifest.Format}; this node reads format {FormatVersion}. Submit it again from a client of this node's version.");
        var files = entries.Skip(1).ToList();
        if (files.Count != manifest.Files.Count)
            throw new BundleCorruptException($"bundle {expectedHash} lists {manifest.Files.Count} files but holds {files.Count}.");
        for (var i = 0; i < files.Count; i++)
        {
            var listed = manifest.Files[i];
            var (name, content) = files[i];
            RequireInside(listed.Path, expectedHash);
            if (name != FilesPrefix + listed.Path || content.LongLength != listed.Size || Sha256(content) != listed.Sha256)
                throw new BundleCorruptException($"bundle {expectedHash}: {name} does not match its manifest entry {listed.Path}.");
        }
        if (!manifest.Files.Any(f => f.Path == manifest.Assembly))
            throw new BundleCorruptException($"bundle {expectedHash} does not hold its main assembly {manifest.Assembly}.");
        return new ProjectBundle(bytes, hash, manifest);
    }

    /// <summary>Refuses a bundle built against another framework version than <paramref name="running"/>.</summary>
    /// <exception cref="BundleVersionException">The message names both versions.</exception>
    public void RequireFramework(string running)
    {
        if (!string.Equals(Manifest.FrameworkVersion, running, StringComparison.Ordinal))
            throw new BundleVersionException(
                $"training project {Manifest.Project} (bundle {Hash[..12]}) was built against Train Manager {Manifest.FrameworkVersion}, but this cluster runs {running}; " +
                $"reference version {running} of the TrainManager packages in the project and submit again.");
    }

    /// <summary>Writes the bundle's files into <paramref name="directory"/> (created), and returns the build they make.</summary>
    public ProjectBuild ExtractTo(string directory)
    {
        var root = Path.GetFullPath(directory);
        Directory.CreateDirectory(root);
        foreach (var (name, content) in ReadEntries(Bytes, Hash).Skip(1))
        {
            var relative = name[FilesPrefix.Length..];
            RequireInside(relative, Hash);
            var target = Path.GetFullPath(Path.Combine(root, relative));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, content);
        }
        return new ProjectBuild(Manifest.Project, root, Manifest.Assembly);
    }

    static List<(string Name, byte[] Bytes)> ReadEntries(byte[] archive, string hash)
    {
        var entries = new List<(string, byte[])>();
        try
        {
            using var reader = new TarReader(new MemoryStream(archive, writable: false));
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    throw new BundleCorruptException($"bundle {hash} holds {entry.Name}, which is not a plain file.");
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                entries.Add((entry.Name, data.ToArray()));
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new BundleCorruptException($"bundle {hash} is not a readable archive: {e.Message}");
        }
        return entries;
    }

    static void RequireInside(string relative, string hash)
    {
        if (relative.Length == 0 || relative.StartsWith('/') || relative.Contains('\\') || Path.IsPathRooted(relative)
            || relative.Split('/').Any(part => part is "" or "." or ".."))
            throw new BundleCorruptException($"bundle {hash} names a file '{relative}' outside its own folder; it is refused.");
    }

    static TarEntry Entry(string name, byte[] bytes) => new UstarTarEntry(TarEntryType.RegularFile, name)
    {
        DataStream = new MemoryStream(bytes, writable: false),
        ModificationTime = FixedTime,
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        Uid = 0,
        Gid = 0,
        UserName = "",
        GroupName = "",
    };

    static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>A bundle did not arrive as it was named: damaged, another bundle, or crafted. Nothing of it is loaded.</summary>
public sealed class BundleCorruptException(string message) : Exception(message), IBadInput;

/// <summary>A bundle built against another framework version than the one that would load it.</summary>
public sealed class BundleVersionException(string message) : Exception(message), IBadInput;
