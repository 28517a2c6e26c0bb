using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace TrainManager.Tests.Extensions.Provenance;

/// <summary>A git repository in a fresh temp directory, deleted on dispose. Runs git itself, independent of the code under test.</summary>
internal sealed class ThrowawayRepository : IDisposable
{
    private ThrowawayRepository(string root) => Root = root;

    public string Root { get; }

    public static ThrowawayRepository Create()
    {
        var repository = new ThrowawayRepository(Directory.CreateTempSubdirectory("tm-provenance-").FullName);
        repository.Git("init", "--quiet", "--initial-branch=main");
        repository.Git("config", "user.name", "Provenance Test");
        repository.Git("config", "user.email", "provenance-test@example.invalid");
        repository.Git("config", "commit.gpgsign", "false");
        return repository;
    }

    public string PathOf(string relativePath) => Path.Combine(Root, relativePath);

    public void Write(string relativePath, string text) => Write(relativePath, Encoding.UTF8.GetBytes(text));

    public void Write(string relativePath, byte[] bytes)
    {
        var path = PathOf(relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    public void CommitAll(string message)
    {
        Git("add", "--all");
        Git("commit", "--quiet", "-m", message);
    }

    public string Git(params string[] arguments) => RunGit(Root, arguments);

    /// <summary>SHA-256 of every file under the root except .git's object store, plus the raw bytes of .git/index.</summary>
    public IReadOnlyDictionary<string, string> FingerprintWorkingTreeAndIndex()
    {
        var fingerprint = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Root, file);
            if (relative.StartsWith(".git" + Path.DirectorySeparatorChar, StringComparison.Ordinal) && relative != Path.Combine(".git", "index"))
                continue;
            fingerprint[relative] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        }

        return fingerprint;
    }

    public void Dispose()
    {
        if (Directory.Exists(Root))
            Directory.Delete(Root, recursive: true);
    }

    public static string RunGit(string directory, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("git")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed: {error}");
        return output.Result.Trim();
    }
}
