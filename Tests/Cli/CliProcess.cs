using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace TrainManager.Tests.Cli;

/// <summary>
/// <c>trainmanager</c> as a real process, started from the Coordinator's build output: for what only a process shows
/// (signals, its exit code, what it leaves on disk). Each has its own state directory (the journal), so it shares
/// nothing with the in-process tests.
/// </summary>
internal sealed partial class CliProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _output = new();

    CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, line) => Append(line.Data);
        _process.ErrorDataReceived += (_, line) => Append(line.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Whether this machine can give a process a pseudo-terminal (util-linux <c>script</c>).</summary>
    public static bool TerminalAvailable => OperatingSystem.IsLinux() && File.Exists("/usr/bin/script");

    /// <summary>Starts <c>trainmanager ARGS</c> in a pseudo-terminal, as a person at a terminal runs it: what is written to
    /// <see cref="PressCtrlC"/> goes through the terminal, which turns Ctrl+C into SIGINT for the process.</summary>
    public static CliProcess StartInTerminal(string stateDirectory, params string[] args)
    {
        // SIGINT back to its default first: a process started in the background by a shell without job control inherits
        // it ignored, and then Ctrl+C would never reach the CLI.
        var command = string.Join(' ', new[] { "env", "--default-signal=INT", "dotnet", Assembly }.Concat(args).Select(Quote));
        var info = Info("script", stateDirectory);
        foreach (var arg in new[] { "--quiet", "--flush", "--return", "--command", command, "/dev/null" })
            info.ArgumentList.Add(arg);
        info.RedirectStandardInput = true;
        return new CliProcess(new Process { StartInfo = info });
    }

    /// <summary>Runs <c>trainmanager ARGS</c> to its end (no terminal) and returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(string stateDirectory, TimeSpan timeout, params string[] args)
    {
        var info = Info("dotnet", stateDirectory);
        info.ArgumentList.Add(Assembly);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = new CliProcess(new Process { StartInfo = info });
        return (process.WaitForExit(timeout), process.Output);
    }

    /// <summary>What a person's Ctrl+C sends the terminal.</summary>
    public void PressCtrlC()
    {
        _process.StandardInput.Write('\u0003');
        _process.StandardInput.Flush();
    }

    /// <returns>The exit code.</returns>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new Xunit.Sdk.XunitException($"trainmanager did not end within {timeout}:\n{Output}");
        _process.WaitForExit(); // the rest of the output
        return _process.ExitCode;
    }

    /// <summary>Everything it wrote, without the terminal's colour and cursor sequences.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return TerminalSequence().Replace(_output.ToString(), "");
        }
    }

    void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.Append(line).Append('\n');
    }

    static ProcessStartInfo Info(string file, string stateDirectory)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["TRAINMANAGER_STATE_DIRECTORY"] = stateDirectory;
        return info;
    }

    /// <summary>The CLI's build output, next to this test assembly's (same configuration).</summary>
    static string Assembly
    {
        get
        {
            var tests = new DirectoryInfo(AppContext.BaseDirectory); // Tests/bin/<Configuration>/net10.0/
            var root = tests.Parent!.Parent!.Parent!.Parent!.FullName;
            var path = Path.Combine(root, "Cli", "bin", tests.Parent.Name, tests.Name, "trainmanager.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build the solution (dotnet build TrainManager.sln).");
        }
    }

    static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z])")]
    private static partial Regex TerminalSequence();

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
