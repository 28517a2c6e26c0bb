using TrainManager.Protocol.Configuration;

namespace TrainManager.Node;

/// <summary>A command line the node cannot use; the message says what to write instead (exit code 2).</summary>
public sealed class NodeUsageException(string message) : Exception(message);

/// <summary>
/// <c>dotnet run --project Trainer.Node -- [--config cluster.hocon] [--host H] [--port P] [--seed-nodes H:P,...]
/// [--devices cpu,cpu | cuda:0,cuda:1] [--data-host H] [--data-port P] [--roles coordinator,worker] [--runs-dir DIR]
/// [--state-dir DIR] [--store sqlite|postgresql] [--secret-file FILE]</c>.
/// Flags win over <c>TRAINMANAGER_*</c> environment variables, which win over the config file.
/// </summary>
public sealed record NodeCommandLine(string? ConfigFile, ClusterOverrides Flags, bool Help)
{
    public const string Usage = """
        Usage: dotnet run --project Trainer.Node -- [options]

        Starts a Train Manager cluster node: it joins the cluster and offers one worker slot per device.

        Options (each overrides its TRAINMANAGER_* environment variable, which overrides the config file):
          --config FILE          cluster settings, a copy of cluster.hocon (default: the built-in cluster.hocon)
          --host H               address to bind and to be reached at (default 127.0.0.1)   TRAINMANAGER_HOST
          --port P               remoting port (default 4053; 0 = any free port)            TRAINMANAGER_PORT
          --seed-nodes H:P,...   where to find the cluster (default 127.0.0.1:4053)         TRAINMANAGER_SEED_NODES
          --devices D,...        one worker slot per device: cpu, cuda, cuda:N              TRAINMANAGER_DEVICES
          --data-host H          address the others dial for gradients (default: --host)    TRAINMANAGER_DATA_HOST
          --data-port P          gradients: slot i on port P + i (default 0: any free)      TRAINMANAGER_DATA_PORT
          --roles R,...          coordinator, worker, or both (default both)                TRAINMANAGER_ROLES
          --runs-dir DIR         the shared runs directory (checkpoints live there)         TRAINMANAGER_RUNS_DIRECTORY
          --state-dir DIR        local state: the SQLite journal (default .trainmanager)    TRAINMANAGER_STATE_DIRECTORY
          --store S              journal store: sqlite or postgresql                        TRAINMANAGER_STORE
          --data-roots DIR,...   the only folders an experiment's data.path may name        TRAINMANAGER_DATA_ROOTS
                                 (default: data, /usr/share/datasets)
          --secret-file FILE     the cluster's secret, the same file on every node and client TRAINMANAGER_SECRET_FILE
                                 (default on 127.0.0.1 only: ~/.trainmanager/cluster.secret, made on first use;
                                 make one for a cluster on several machines with: trainmanager secret FILE)
          --help                 this text
        The PostgreSQL connection string comes from the config file or TRAINMANAGER_JOURNAL_CONNECTION, never a flag
        (a flag would show the password in `ps`); the TLS certificate password likewise from TRAINMANAGER_TLS_PASSWORD.

        Examples:
          dotnet run --project Trainer.Node                                   # a one-node cluster on 127.0.0.1:4053
          dotnet run --project Trainer.Node -- --port 4054 --roles worker --devices cpu,cpu
          dotnet run --project Trainer.Node -- --host 10.0.0.7 --seed-nodes 10.0.0.5:4053 --devices cuda:0,cuda:1
          dotnet run --project Trainer.Node -- --host 10.0.0.8 --seed-nodes 10.0.0.5:4053 --devices cpu,cpu --data-port 5001
        The ranks of a data-parallel run exchange gradients directly, on each slot's data port (5001 and 5002 above):
        open those ports between worker nodes. Without --data-port each slot takes any free port.
        Stop a node with Ctrl+C or SIGTERM: its runs stop after their current batch, write a checkpoint, and are
        handed back to the coordinator, which resumes them on another slot.
        """;

    /// <exception cref="NodeUsageException">An unknown flag, a flag without its value, or a value that cannot be used.</exception>
    public static NodeCommandLine Parse(IReadOnlyList<string> args)
    {
        string? config = null;
        var flags = new ClusterOverrides();
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new NodeUsageException($"{arg} needs a value, e.g. {Example(arg)}.");
                return args[++i];
            }
            IReadOnlyList<string> ListValue() => ClusterOverrides.List(Value())
                ?? throw new NodeUsageException($"{arg} needs a comma-separated list, e.g. {Example(arg)}.");
            switch (arg)
            {
                case "--help" or "-h":
                    help = true;
                    break;
                case "--config":
                    config = Value();
                    break;
                case "--host":
                    flags = flags with { Host = Value() };
                    break;
                case "--port":
                    flags = flags with { Port = ParsePort(arg, Value()) };
                    break;
                case "--seed-nodes":
                    flags = flags with { SeedNodes = ListValue() };
                    break;
                case "--devices":
                    flags = flags with { Devices = ListValue() };
                    break;
                case "--data-host":
                    flags = flags with { DataHost = Value() };
                    break;
                case "--data-port":
                    flags = flags with { DataPort = ParsePort(arg, Value()) };
                    break;
                case "--roles":
                    flags = flags with { Roles = ListValue() };
                    break;
                case "--runs-dir":
                    flags = flags with { RunsDirectory = Value() };
                    break;
                case "--state-dir":
                    flags = flags with { StateDirectory = Value() };
                    break;
                case "--store":
                    flags = flags with { Store = Value() };
                    break;
                case "--data-roots":
                    flags = flags with { DataRoots = ListValue() };
                    break;
                case "--secret-file":
                    flags = flags with { SecretFile = Value() };
                    break;
                default:
                    throw new NodeUsageException($"unknown option '{arg}'. Run with --help for the options.");
            }
        }
        return new NodeCommandLine(config, flags, help);
    }

    static int ParsePort(string flag, string text)
    {
        try
        {
            return ClusterOverrides.ParsePort(text, flag);
        }
        catch (ClusterConfigurationException e)
        {
            throw new NodeUsageException(e.Message);
        }
    }

    static string Example(string flag) => flag switch
    {
        "--config" => "--config cluster.hocon",
        "--host" => "--host 10.0.0.7",
        "--port" => "--port 4054",
        "--seed-nodes" => "--seed-nodes 10.0.0.5:4053,10.0.0.6:4053",
        "--devices" => "--devices cpu,cpu or --devices cuda:0,cuda:1",
        "--data-host" => "--data-host 10.0.0.7",
        "--data-port" => "--data-port 5001",
        "--roles" => "--roles worker",
        "--store" => "--store postgresql",
        "--data-roots" => "--data-roots /srv/datasets,/mnt/shared/data",
        "--secret-file" => "--secret-file /etc/trainmanager/cluster.secret",
        _ => $"{flag} DIR",
    };
}
