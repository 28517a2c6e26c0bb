using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TrainManager.Tests.Cluster;

/// <summary>A Trainer.Node process, started from the build output, its output kept for assertions and failures.</summary>
internal sealed class NodeProcess
{
    readonly Process _process;
    readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly List<string> _output = [];

    NodeProcess(string name, int port, Process process)
    {
        Name = name;
        Port = port;
        _process = process;
    }

    public string Name { get; }

    /// <summary>The node's remoting port: its address is <c>akka.tcp://trainmanager@127.0.0.1:PORT</c>.</summary>
    public int Port { get; }

    /// <param name="config">A cluster.hocon of the test's own (<c>--config</c>); null: the built-in one.</param>
    /// <param name="environment">Variables to set for the node (e.g. TRAINMANAGER_SECRET_FILE).</param>
    public static NodeProcess Start(string name, int port, string seeds, string roles, string journal, string runs, string state,
        string? config = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { NodeAssembly(), "--port", port.ToString(), "--seed-nodes", seeds, "--roles", roles, "--devices", "cpu",
                     "--store", "postgresql", "--runs-dir", runs, "--state-dir", state })
            info.ArgumentList.Add(arg);
        if (config is not null)
        {
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
        }
        info.Environment["TRAINMANAGER_JOURNAL_CONNECTION"] = journal;
        info.Environment["TRAINMANAGER_DATA_ROOTS"] = Path.GetDirectoryName(Training.TrainingFixtures.SlicePath)!;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        var node = new NodeProcess(name, port, new Process { StartInfo = info, EnableRaisingEvents = true });
        node._process.OutputDataReceived += (_, line) => node.Read(line.Data);
        node._process.ErrorDataReceived += (_, line) => node.Read(line.Data);
        node._process.Exited += (_, _) => node._joined.TrySetException(new InvalidOperationException(
            $"{name} exited with {node._process.ExitCode}:\n{node.Output}"));
        node._process.Start();
        node._process.BeginOutputReadLine();
        node._process.BeginErrorReadLine();
        return node;
    }

    void Read(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.Add(line);
        if (line.Contains("Joined the cluster", StringComparison.Ordinal))
            _joined.TrySetResult();
    }

    public string Output
    {
        get
        {
            lock (_output)
                return string.Join('\n', _output.TakeLast(40));
        }
    }

    /// <summary>Every line the node has printed so far.</summary>
    public string AllOutput
    {
        get
        {
            lock (_output)
                return string.Join('\n', _output);
        }
    }

    public async Task JoinedAsync(TimeSpan timeout)
    {
        try
        {
            await _joined.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{Name} did not join within {timeout}:\n{Output}");
        }
    }

    /// <summary>The node's process id (to kill it from outside, as an operator or the OOM killer would).</summary>
    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>SIGKILL: the process gets no chance to hand anything back or close anything.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>The node's build output, next to this test assembly's (same configuration).</summary>
    static string NodeAssembly()
    {
        var tests = new DirectoryInfo(AppContext.BaseDirectory); // Tests/bin/<Configuration>/net10.0/
        var configuration = tests.Parent!.Name;
        var root = tests.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Trainer.Node", "bin", configuration, tests.Name, "trainmanager-node.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build the solution (dotnet build TrainManager.sln).");
    }

    /// <summary><paramref name="count"/> distinct free ports, all chosen before any is used: asked one at a time while
    /// the nodes start (each binds its port only once its process is up), the system could hand out the same port twice,
    /// and the second node would meet the first one's identity and be quarantined.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners) listener.Start();
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners) listener.Stop();
        }
    }
}
