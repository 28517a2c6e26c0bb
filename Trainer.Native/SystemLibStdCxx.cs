using System.Diagnostics;
using System.Text.RegularExpressions;

namespace TrainManager.Runtime;

/// <summary>What we learned about the libstdc++ the dynamic loader will give native libraries.</summary>
/// <param name="Path">The file inspected, or null when no libstdc++.so.6 could be found.</param>
/// <param name="Versions">The GLIBCXX_* versions it defines (empty when <paramref name="Path"/> is null).</param>
public sealed record LibStdCxxInfo(string? Path, IReadOnlySet<string> Versions)
{
    public bool Provides(string version) => Versions.Contains(version);

    /// <summary>The highest GLIBCXX_3.4.N it defines, e.g. "GLIBCXX_3.4.30", for log lines.</summary>
    public string NewestGlibcxx =>
        Versions.Where(v => v.StartsWith("GLIBCXX_3.4", StringComparison.Ordinal))
            .OrderBy(v => int.TryParse(v.AsSpan("GLIBCXX_3.4".Length).TrimStart('.'), out var n) ? n : 0)
            .LastOrDefault() ?? "none";
}

/// <summary>Finds the system libstdc++.so.6 and reads the versions it defines from its ELF version definitions.</summary>
public static partial class SystemLibStdCxx
{
    const string SoName = "libstdc++.so.6";

    // Where Debian/Ubuntu, Fedora/RHEL, Arch and Alpine-with-glibc put it, in loader search order.
    static readonly string[] KnownDirectories =
    [
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
        "/usr/lib64", "/lib64", "/usr/lib", "/lib",
    ];

    public static LibStdCxxInfo Inspect()
    {
        var path = Locate();
        if (path is null)
            return new LibStdCxxInfo(null, new HashSet<string>());
        var image = ElfImage.Read(path);
        return new LibStdCxxInfo(path, image.VersionDefinitions().ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// The libstdc++ a dlopen would bind to: one already mapped into this process wins (the loader reuses it),
    /// then LD_LIBRARY_PATH, the well-known system directories, and finally the <c>ldconfig -p</c> cache.
    /// </summary>
    public static string? Locate()
    {
        var mapped = MappedInThisProcess();
        if (mapped is not null)
            return mapped;

        var ldLibraryPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "";
        foreach (var dir in ldLibraryPath.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(KnownDirectories))
        {
            var candidate = System.IO.Path.Combine(dir, SoName);
            if (File.Exists(candidate))
                return candidate;
        }
        return FromLdconfigCache();
    }

    static string? MappedInThisProcess()
    {
        try
        {
            // Lines end in the mapped file's real path, e.g. ".../libstdc++.so.6.0.30".
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0)
                    continue;
                var path = line[slash..].Trim();
                if (System.IO.Path.GetFileName(path).StartsWith(SoName, StringComparison.Ordinal) && File.Exists(path))
                    return path;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    static string? FromLdconfigCache()
    {
        foreach (var ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig", "/usr/bin/ldconfig" })
        {
            if (!File.Exists(ldconfig))
                continue;
            try
            {
                var start = new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                using var process = Process.Start(start);
                if (process is null)
                    continue;
                var output = process.StandardOutput.ReadToEnd();
                process.WaitForExit(5000);
                // Lines look like: "	libstdc++.so.6 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libstdc++.so.6"
                foreach (Match match in LdconfigEntry().Matches(output))
                {
                    bool is64 = match.Groups["abi"].Value.Contains("64", StringComparison.Ordinal);
                    if (is64 && File.Exists(match.Groups["path"].Value))
                        return match.Groups["path"].Value;
                }
            }
            catch (System.ComponentModel.Win32Exception) { }
            catch (IOException) { }
        }
        return null;
    }

    [GeneratedRegex(@"^\s*libstdc\+\+\.so\.6 \((?<abi>[^)]*)\) => (?<path>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex LdconfigEntry();
}
