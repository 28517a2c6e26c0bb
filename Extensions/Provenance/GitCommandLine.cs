using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace TrainManager.Extensions.Provenance;

/// <summary>
/// Runs the <c>git</c> executable in one directory. Used for what LibGit2Sharp cannot do without touching the
/// user's index (writing a tree of the working directory into a private index) and for clone/apply.
/// </summary>
internal sealed class GitCommandLine(string workingDirectory)
{
    // Inherited from a parent git process (hooks, `git rebase -x`), these would point our commands at another
    // repository, index or object store than the one in WorkingDirectory.
    private static readonly string[] RedirectingVariables =
    [
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
    ];

    public string WorkingDirectory { get; } = workingDirectory;

    /// <summary>Runs git and returns its standard output as raw bytes (patches may hold any bytes).</summary>
    public byte[] Run(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null, byte[]? standardInput = null)
    {
        var startInfo = new ProcessStartInfo("git")
        {
            WorkingDirectory = WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        foreach (var variable in RedirectingVariables)
            startInfo.Environment.Remove(variable);
        // Never take locks that are optional (e.g. `git status` refreshing the user's index), never prompt for credentials.
        startInfo.Environment["GIT_OPTIONAL_LOCKS"] = "0";
        startInfo.Environment["GIT_TERMINAL_PROMPT"] = "0";
        startInfo.Environment["LC_ALL"] = "C";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            startInfo.Environment[name] = value;

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new GitCommandException("git could not be started.");
        }
        catch (Win32Exception exception)
        {
            throw new GitCommandException($"git could not be started ({exception.Message}); code provenance needs the git executable on PATH.", exception);
        }

        using (process)
        {
            using var standardOutput = new MemoryStream();
            var outputCopy = process.StandardOutput.BaseStream.CopyToAsync(standardOutput);
            var errorRead = process.StandardError.ReadToEndAsync();
            try
            {
                if (standardInput is not null)
                    process.StandardInput.BaseStream.Write(standardInput);
            }
            catch (IOException)
            {
                // git closed its stdin early, e.g. after rejecting its arguments; its exit code and stderr say why.
            }
            finally
            {
                process.StandardInput.Close();
            }

            Task.WaitAll(outputCopy, errorRead);
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new GitCommandException(
                    $"`git {string.Join(' ', arguments)}` in {WorkingDirectory} failed with exit code {process.ExitCode}: {errorRead.Result.Trim()}");
            }

            return standardOutput.ToArray();
        }
    }

    /// <summary>Runs git and returns its standard output as trimmed UTF-8 text.</summary>
    public string RunText(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        Encoding.UTF8.GetString(Run(arguments, environment)).Trim();

    /// <summary>Runs git and reports success instead of throwing, for questions like "does this object exist?".</summary>
    public bool TryRun(IReadOnlyList<string> arguments)
    {
        try
        {
            Run(arguments);
            return true;
        }
        catch (GitCommandException)
        {
            return false;
        }
    }
}
