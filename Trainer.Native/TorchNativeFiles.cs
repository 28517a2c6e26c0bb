using System.Runtime.InteropServices;
using TorchSharp;

namespace TrainManager.Runtime;

/// <summary>Finds the copies of libLibTorchSharp.so that this process could load.</summary>
public static class TorchNativeFiles
{
    public const string LibTorchSharpFileName = "libLibTorchSharp.so";

    /// <summary>The name TorchSharp's <c>[DllImport]</c>s use.</summary>
    public const string LibTorchSharpImportName = "LibTorchSharp";

    /// <summary>
    /// Existing libLibTorchSharp.so files, most likely to be loaded first. Sources, in the runtime's own probing
    /// order: the native directories the host resolved from the app's deps.json (normally
    /// <c>bin/.../runtimes/linux-x64/native/</c>), the app directory (RID-specific publish), and the
    /// <c>cpu/</c> or <c>cuda-*/</c> folders TorchSharp consolidates natives into when its first load fails.
    /// </summary>
    public static IReadOnlyList<string> FindLibTorchSharp()
    {
        var found = new List<string>();
        foreach (var directory in CandidateDirectories())
        {
            var file = Path.Combine(directory, LibTorchSharpFileName);
            if (File.Exists(file) && !found.Contains(file, StringComparer.Ordinal))
                found.Add(file);
        }
        return found;
    }

    static IEnumerable<string> CandidateDirectories()
    {
        // Set by the host from deps.json; it is exactly where [DllImport] probing looks.
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
            foreach (var dir in searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                yield return Path.GetFullPath(dir);

        var baseDirectory = AppContext.BaseDirectory;
        var rid = $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        yield return Path.GetFullPath(baseDirectory);
        yield return Path.GetFullPath(Path.Combine(baseDirectory, "runtimes", rid, "native"));

        var torchSharpDirectory = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        foreach (var root in new[] { baseDirectory, torchSharpDirectory })
        {
            if (string.IsNullOrEmpty(root) || !Directory.Exists(root))
                continue;
            yield return Path.GetFullPath(Path.Combine(root, "cpu"));
            foreach (var cuda in Directory.EnumerateDirectories(root, "cuda-*"))
                yield return Path.GetFullPath(cuda);
        }
    }

    /// <summary>
    /// True when <paramref name="path"/> lies in the shared NuGet package folder, which we never modify:
    /// other projects and other TorchSharp versions' builds copy from it.
    /// </summary>
    public static bool IsInNuGetPackageFolder(string path)
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrWhiteSpace(packages))
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var root = Path.GetFullPath(packages).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return Path.GetFullPath(path).StartsWith(root, StringComparison.Ordinal);
    }
}
