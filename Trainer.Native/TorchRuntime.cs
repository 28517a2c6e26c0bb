using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;

namespace TrainManager.Runtime;

/// <summary>The TorchSharp build this process runs on, for logs and run records.</summary>
public sealed record TorchRuntimeDescription(
    string TorchSharpVersion,
    string LibTorchVersion,
    bool CudaAvailable,
    int CudaDeviceCount,
    string? NativeLibraryPath)
{
    public override string ToString() =>
        $"TorchSharp {TorchSharpVersion}, libtorch {LibTorchVersion}, " +
        (CudaAvailable ? $"CUDA available ({CudaDeviceCount} device(s))" : "CUDA not available") +
        (NativeLibraryPath is null ? "" : $", native {NativeLibraryPath}");
}

/// <summary>Raised when TorchSharp's native libraries cannot be loaded; the message says what to do.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Makes TorchSharp's native backend loadable without manual steps, then loads it.
/// <para>
/// TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13's libstdc++) for one symbol it never
/// calls; on Debian 12 / Ubuntu 22.04 (libstdc++ up to GLIBCXX_3.4.30) the loader refuses the whole library.
/// Where the system libstdc++ lacks that version we mark the requirement weak (see <see cref="WeakVersionPatch"/>):
/// in place when the app's native folder is writable, otherwise in a per-user cache copy that sits next to
/// symlinks to the sibling libtorch libraries (its RUNPATH is <c>$ORIGIN</c>) and is handed to the runtime through
/// a <see cref="NativeLibrary.SetDllImportResolver"/> on TorchSharp's assembly (TorchSharp 0.107 sets none itself).
/// </para>
/// <para>
/// Every entry point that touches TorchSharp must call <see cref="EnsureLoaded"/> first: constructing a module
/// calls native code before any <c>torch</c> initializer runs.
/// </para>
/// </summary>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static volatile string? _loadedFrom;
    static volatile bool _loaded;
    static nint _redirectedHandle;

    /// <summary>
    /// Loads TorchSharp's native backend, patching it first where this machine needs it. Thread-safe; after the
    /// first successful call it is a field read. Writes at most one line to <paramref name="log"/> (stderr by
    /// default), and only when it changed or redirected something.
    /// </summary>
    /// <exception cref="TorchRuntimeException">The backend cannot be loaded; the message says why and what to do.</exception>
    public static void EnsureLoaded(Action<string>? log = null)
    {
        if (_loaded)
            return;
        lock (Gate)
        {
            if (_loaded)
                return;
            string? line = null;
            if (OperatingSystem.IsLinux())
            {
                try
                {
                    (_loadedFrom, line) = PrepareLinuxBackend();
                }
                catch (InvalidDataException e)
                {
                    throw new TorchRuntimeException(
                        $"A TorchSharp native library next to the application is damaged ({e.Message}). Rebuild or reinstall the application.", e);
                }
                catch (InvalidOperationException e)
                {
                    throw new TorchRuntimeException(e.Message, e); // the patch refused: its message says what to install
                }
            }
            VerifyLoads();
            _loaded = true;
            if (line is not null)
                (log ?? Console.Error.WriteLine)(line);
        }
    }

    /// <summary>Versions and CUDA availability; loads the backend if needed.</summary>
    public static TorchRuntimeDescription Describe()
    {
        EnsureLoaded();
        var informational = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";
        bool cuda = torch.cuda.is_available();
        return new TorchRuntimeDescription(
            TorchSharpVersion: informational.Split('+')[0],
            LibTorchVersion: torch.__version__,
            CudaAvailable: cuda,
            CudaDeviceCount: cuda ? torch.cuda.device_count() : 0,
            NativeLibraryPath: _loadedFrom);
    }

    static (string? LoadedFrom, string? LogLine) PrepareLinuxBackend()
    {
        var copies = TorchNativeFiles.FindLibTorchSharp();
        if (copies.Count == 0)
            return (null, null); // Nothing we can patch; TorchSharp's own loader reports what is missing.

        var patch = WeakVersionPatch.LibTorchSharpGlibcxx;
        var primary = copies[0];
        var strong = copies.Where(c => patch.Inspect(ElfImage.Read(c)) == WeakVersionState.Strong).ToList();
        if (strong.Count == 0)
            return (primary, null);

        var libStdCxx = SystemLibStdCxx.Inspect();
        if (libStdCxx.Provides(patch.Version))
            return (primary, null);
        var why = libStdCxx.Path is null
            ? $"no system {patch.Dependency} was found to check for {patch.Version}"
            : $"the system {libStdCxx.Path} ends at {libStdCxx.NewestGlibcxx}";

        var patchedInPlace = new List<string>();
        foreach (var copy in strong.Where(c => !TorchNativeFiles.IsInNuGetPackageFolder(c)))
        {
            try
            {
                patch.PatchFile(copy, copy);
                patchedInPlace.Add(copy);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // Read-only app folder (installed package, container image); the primary copy is redirected below.
            }
        }

        if (!strong.Contains(primary) || patchedInPlace.Contains(primary))
            return (primary, patchedInPlace.Count == 0 ? null :
                $"TrainManager: marked {patch.Version} weak in {string.Join(", ", patchedInPlace)} because {why}; " +
                $"its only user, std::ios_base_library_init, is never called.");

        var cached = RedirectToPatchedCopy(primary, patch);
        var untouchable = TorchNativeFiles.IsInNuGetPackageFolder(primary) ? "is the shared NuGet package folder" : "is not writable";
        return (cached,
            $"TrainManager: loading TorchSharp from {cached}, a copy with {patch.Version} marked weak, because {why} " +
            $"and {Path.GetDirectoryName(primary)} {untouchable}.");
    }

    /// <summary>
    /// Patches <paramref name="source"/> into a per-user cache folder keyed by its content and location, links the
    /// sibling libraries next to it (symlinks, so glibc sees the same files the app would load and never maps
    /// libtorch twice), loads it, and routes TorchSharp's [DllImport("LibTorchSharp")] to it.
    /// </summary>
    static string RedirectToPatchedCopy(string source, WeakVersionPatch patch)
    {
        var sourceDirectory = Path.GetDirectoryName(source)!;
        var key = CacheKey(source);
        var cacheDirectory = UserCacheDirectory.For("native", key);
        var target = Path.Combine(cacheDirectory, TorchNativeFiles.LibTorchSharpFileName);
        try
        {
            Directory.CreateDirectory(cacheDirectory);
            if (!File.Exists(target) || patch.Inspect(ElfImage.Read(target)) == WeakVersionState.Strong)
                patch.PatchFile(source, target);
            foreach (var sibling in Directory.EnumerateFiles(sourceDirectory))
            {
                var name = Path.GetFileName(sibling);
                if (name == TorchNativeFiles.LibTorchSharpFileName || !name.Contains(".so", StringComparison.Ordinal))
                    continue;
                EnsureSymlink(Path.Combine(cacheDirectory, name), sibling);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new TorchRuntimeException(
                $"TorchSharp's {source} needs {patch.Version}, which this system's libstdc++ lacks, and neither its folder " +
                $"nor the cache folder {cacheDirectory} is writable ({e.Message}). Make one of them writable (or set " +
                "XDG_CACHE_HOME to a writable folder), or install a libstdc++ that provides " + patch.Version + ".", e);
        }

        _redirectedHandle = NativeLibrary.Load(target);
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, ResolveLibTorchSharp);
        }
        catch (InvalidOperationException)
        {
            // Someone else took TorchSharp's single resolver slot. The runtime's last-resort event still reaches
            // us: default probing fails on the unpatched copy (that is why we are here), then the event fires.
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += (assembly, name) =>
                assembly == typeof(torch).Assembly ? ResolveLibTorchSharp(name, assembly, null) : 0;
        }
        return target;
    }

    static nint ResolveLibTorchSharp(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name is TorchNativeFiles.LibTorchSharpImportName or TorchNativeFiles.LibTorchSharpFileName ? _redirectedHandle : 0;

    static string CacheKey(string source)
    {
        // Content and location: a different TorchSharp build, or another app folder with other siblings,
        // gets its own folder rather than overwriting one that a running process has mapped.
        using var sha = SHA256.Create();
        var location = Encoding.UTF8.GetBytes(Path.GetFullPath(source));
        sha.TransformBlock(location, 0, location.Length, null, 0);
        var content = File.ReadAllBytes(source);
        sha.TransformFinalBlock(content, 0, content.Length);
        return Convert.ToHexStringLower(sha.Hash!)[..16];
    }

    static void EnsureSymlink(string link, string target)
    {
        var existing = new FileInfo(link);
        if (existing.LinkTarget == target)
            return;
        if (existing.Exists || existing.LinkTarget is not null)
            existing.Delete();
        try
        {
            File.CreateSymbolicLink(link, target);
        }
        catch (IOException) when (new FileInfo(link).LinkTarget == target)
        {
            // Another process created the same link between our check and our create.
        }
    }

    static void VerifyLoads()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var probe = torch.ones(2);
            using var sum = probe.sum();
            if (sum.item<float>() != 2f)
                throw new TorchRuntimeException("TorchSharp loaded but a trivial tensor sum returned a wrong result.");
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            var libStdCxx = OperatingSystem.IsLinux() ? SystemLibStdCxx.Inspect() : null;
            throw new TorchRuntimeException(
                "TorchSharp's native backend failed to load" +
                (_loadedFrom is null ? " (no libLibTorchSharp.so was found next to the application)" : $" from {_loadedFrom}") +
                (libStdCxx?.Path is null ? "" : $"; system libstdc++ {libStdCxx.Path} provides up to {libStdCxx.NewestGlibcxx}") +
                ". Check that the app references TorchSharp with a libtorch runtime package (libtorch-cpu-linux-x64 or " +
                "TorchSharp-cuda-linux) and that its runtimes/<rid>/native folder was deployed. Loader said: " + e.Message, e);
        }
    }
}
