using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Akka.Actor;
using TrainManager.Components;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;

namespace TrainManager.Node.Bundles;

/// <summary>
/// A node's cache of the bundles its runs use (<c>STATE/bundles/HASH/</c>, one folder per bundle, extracted): a run whose
/// bundle is not there fetches it from the coordinator (in chunks, see <see cref="BundleTransfer"/>), checks it (the
/// name's MAC under the cluster's bundle key, the bytes against the name, every file against the manifest, the
/// framework version against this node's), and extracts it; the slots of a node that need the same bundle at once
/// fetch it once. A cached bundle's files are checked against its manifest again each time a run loads it. Past
/// <c>trainmanager.bundles.node-cache-max-size</c> the least recently used bundles no run here uses are removed.
/// </summary>
public sealed class NodeBundles
{
    const string ManifestFile = ProjectBundle.CachedManifestFile;
    readonly string _directory;
    readonly BundleKey? _key;
    readonly long _maxSize;
    readonly string _frameworkVersion;
    readonly ConcurrentDictionary<string, Lazy<Task<ProjectBuild>>> _fetching = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int> _inUse = new(StringComparer.Ordinal);

    /// <param name="key">Verifies the names of bundles before anything of them is fetched or loaded; null only where no
    /// cluster secret exists (tests of the worker alone).</param>
    public NodeBundles(string directory, BundleKey? key, long maxSize = 10L << 30, string? frameworkVersion = null)
    {
        _directory = Path.GetFullPath(directory);
        _key = key;
        _maxSize = maxSize;
        _frameworkVersion = frameworkVersion ?? ProjectBundle.RunningFrameworkVersion();
    }

    public string Directory => _directory;

    readonly ConcurrentQueue<(string RunId, string Hash, WeakReference Context)> _loaded = new();

    /// <summary>The load context of every run this node loaded a bundle for, weakly held: a context whose run has ended
    /// is collected (a node does not keep every version it ran).</summary>
    public IReadOnlyList<(string RunId, string Hash, WeakReference Context)> LoadContexts => _loaded.ToList();

    internal void Track(string runId, string hash, LoadedProject project) => _loaded.Enqueue((runId, hash, project.Context));

    /// <summary>Fires when a bundle has been fetched (hash, bytes, seconds): the node logs it.</summary>
    public event Action<BundleRef, TimeSpan>? Fetched;

    /// <summary>The build of <paramref name="bundle"/>, from the cache or fetched through <paramref name="coordinator"/>;
    /// the bundle counts as in use until <see cref="Release"/>.</summary>
    /// <exception cref="BundleCorruptException">The bundle is not what its name says (nothing of it is kept).</exception>
    /// <exception cref="BundleVersionException">It was built against another framework version.</exception>
    /// <exception cref="BundleTransferException">It could not be fetched.</exception>
    public async Task<ProjectBuild> AcquireAsync(BundleRef bundle, IActorRef coordinator, ActorSystem system, TimeSpan askTimeout,
        CancellationToken cancel = default)
    {
        if (_key is not null && !_key.Verifies(bundle))
            throw new BundleCorruptException($"{bundle} is not signed with this cluster's secret: this node loads no code that a holder of the secret did not submit.");
        if (!string.Equals(bundle.FrameworkVersion, _frameworkVersion, StringComparison.Ordinal))
            throw new BundleVersionException(
                $"training project {bundle.Project} (bundle {bundle.ShortHash}) was built against Train Manager {bundle.FrameworkVersion}, but this node runs {_frameworkVersion}; " +
                $"reference version {_frameworkVersion} of the TrainManager packages in the project and submit again, or run nodes of version {bundle.FrameworkVersion}.");
        _inUse.AddOrUpdate(bundle.Hash, 1, (_, n) => n + 1);
        try
        {
            var fetch = _fetching.GetOrAdd(bundle.Hash, _ => new Lazy<Task<ProjectBuild>>(() => ObtainAsync(bundle, coordinator, system, askTimeout, cancel)));
            try
            {
                return await fetch.Value.WaitAsync(cancel);
            }
            finally
            {
                _fetching.TryRemove(new KeyValuePair<string, Lazy<Task<ProjectBuild>>>(bundle.Hash, fetch));
            }
        }
        catch
        {
            Release(bundle);
            throw;
        }
    }

    /// <summary>A run that used <paramref name="bundle"/> has ended: the cache may remove it again.</summary>
    public void Release(BundleRef bundle)
    {
        if (_inUse.AddOrUpdate(bundle.Hash, 0, (_, n) => Math.Max(0, n - 1)) == 0)
            _inUse.TryRemove(new KeyValuePair<string, int>(bundle.Hash, 0));
    }

    /// <summary>Whether the cache holds <paramref name="hash"/> (extracted and described).</summary>
    public bool Holds(string hash) => File.Exists(Path.Combine(_directory, hash, ManifestFile));

    async Task<ProjectBuild> ObtainAsync(BundleRef bundle, IActorRef coordinator, ActorSystem system, TimeSpan askTimeout, CancellationToken cancel)
    {
        var folder = Path.Combine(_directory, bundle.Hash);
        if (Holds(bundle.Hash))
        {
            var cached = Verified(folder, bundle);
            if (cached is not null)
            {
                System.IO.Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow);
                return cached;
            }
            // Changed on disk since it was fetched: fetched again rather than loaded.
            System.IO.Directory.Delete(folder, recursive: true);
        }
        var started = DateTimeOffset.UtcNow;
        var answer = await coordinator.Ask<object>(new FetchBundle(bundle.Hash), askTimeout, cancel);
        var source = answer switch
        {
            BundleSource s => s,
            BundleUnavailable u => throw new BundleTransferException(u.Reason),
            _ => throw new BundleTransferException($"the coordinator answered {answer.GetType().Name} when asked for bundle {bundle.ShortHash}"),
        };
        if (source.Size != bundle.Size)
            throw new BundleCorruptException($"the coordinator holds {source.Size} bytes under the name of {bundle}, which has {bundle.Size}; it is refused.");
        System.IO.Directory.CreateDirectory(_directory);
        var part = Path.Combine(_directory, bundle.Hash + ".part");
        var archive = await BundleTransfer.Download(system, bundle.Hash, bundle.Size, source.Source, part, cancel: cancel);
        ProjectBundle read;
        try
        {
            read = ProjectBundle.Read(await File.ReadAllBytesAsync(archive, cancel), bundle.Hash);
            read.RequireFramework(_frameworkVersion);
        }
        finally
        {
            File.Delete(archive);
        }
        var staging = Path.Combine(_directory, $"{bundle.Hash}.extracting-{Guid.NewGuid():N}");
        var build = read.ExtractTo(staging);
        await File.WriteAllBytesAsync(Path.Combine(staging, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(read.Manifest), cancel);
        try
        {
            System.IO.Directory.Move(staging, folder);
        }
        catch (IOException) when (Holds(bundle.Hash))
        {
            System.IO.Directory.Delete(staging, recursive: true); // another process of this node got there first
        }
        Fetched?.Invoke(bundle, DateTimeOffset.UtcNow - started);
        Trim(bundle.Hash);
        return build with { OutputDirectory = folder };
    }

    /// <summary>The cached build, when every file still matches the manifest it came with; else null.</summary>
    static ProjectBuild? Verified(string folder, BundleRef bundle)
    {
        BundleManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllBytes(Path.Combine(folder, ManifestFile)));
        }
        catch (JsonException)
        {
            return null;
        }
        if (manifest is null || manifest.Assembly != bundle.Assembly)
            return null;
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(folder, file.Path);
            if (!File.Exists(path) || new FileInfo(path).Length != file.Size
                || Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))) != file.Sha256)
                return null;
        }
        return new ProjectBuild(manifest.Project, folder, manifest.Assembly);
    }

    /// <summary>Removes the least recently used bundles no run here uses while the cache exceeds its size.</summary>
    void Trim(string keep)
    {
        try
        {
            var bundles = new DirectoryInfo(_directory).GetDirectories()
                .Where(d => d.Name.Length == 64 && File.Exists(Path.Combine(d.FullName, ManifestFile)))
                .Select(d => (Folder: d, Size: d.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)))
                .ToList();
            var total = bundles.Sum(b => b.Size);
            foreach (var (folder, size) in bundles.OrderBy(b => b.Folder.LastWriteTimeUtc))
            {
                if (total <= _maxSize)
                    break;
                if (folder.Name == keep || _inUse.ContainsKey(folder.Name))
                    continue;
                folder.Delete(recursive: true);
                total -= size;
            }
        }
        catch (IOException)
        {
            // A cache that could not be trimmed now is trimmed after the next fetch.
        }
    }
}
