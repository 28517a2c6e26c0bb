using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// A PostgreSQL server for one test class: the one <c>TRAINMANAGER_TEST_POSTGRES</c> names (a connection string), or a
/// throwaway cluster made with the installed <c>initdb</c> in a temporary folder, on a free loopback port, stopped and
/// deleted afterwards. Run as root, the server runs as user postgres (PostgreSQL refuses root).
/// </summary>
public sealed class ThrowawayPostgres : IDisposable
{
    public const string ConnectionVariable = "TRAINMANAGER_TEST_POSTGRES";

    readonly string? _dataDirectory;
    readonly string? _bin;

    public ThrowawayPostgres()
    {
        if (Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } given)
        {
            ConnectionString = given;
            return;
        }
        _bin = FindBinaries() ?? throw new InvalidOperationException(
            $"No PostgreSQL server: set {ConnectionVariable} to a connection string, or install PostgreSQL (apt-get install postgresql).");
        _dataDirectory = Path.Combine(Path.GetTempPath(), "tm-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dataDirectory);
        var port = FreePort();
        if (Environment.UserName == "root")
            Run("chown", $"postgres: {_dataDirectory}");
        AsServerUser("initdb", $"-D {_dataDirectory} -A trust -U postgres --no-sync");
        AsServerUser("pg_ctl", $"-D {_dataDirectory} -l {_dataDirectory}/server.log -w -t 30 " +
                               $"-o \"-p {port} -k {_dataDirectory} -c listen_addresses=127.0.0.1 -c fsync=off\" start");
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
    }

    public string ConnectionString { get; }

    /// <summary>Why PostgreSQL tests cannot run here, or null when they can.</summary>
    public static string? Unavailable() =>
        Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } || FindBinaries() is not null
            ? null
            : $"no PostgreSQL: install it (apt-get install postgresql) or set {ConnectionVariable} to a connection string";

    /// <summary>A new, empty database for one test.</summary>
    public string CreateDatabase()
    {
        var name = "tm_" + Guid.NewGuid().ToString("N")[..10];
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        command.ExecuteNonQuery();
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).OrderDescending()
                .FirstOrDefault(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
            : null;

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    void AsServerUser(string tool, string arguments)
    {
        var path = Path.Combine(_bin!, tool);
        if (Environment.UserName == "root")
            Run("runuser", $"-u postgres -- {path} {arguments}");
        else
            Run(path, arguments);
    }

    static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)) || process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} failed ({(process.HasExited ? process.ExitCode : "timed out")}): {error.Result}{output.Result}");
    }

    public void Dispose()
    {
        if (_dataDirectory is null)
            return;
        try
        {
            AsServerUser("pg_ctl", $"-D {_dataDirectory} -m immediate -w stop");
        }
        finally
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

/// <summary>A test that needs PostgreSQL: skipped, with the reason shown, where there is none, except under
/// <c>TRAINMANAGER_REQUIRE_ALL_TESTS=1</c> (CI), where it runs and fails instead.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (ThrowawayPostgres.Unavailable() is { } reason && Environment.GetEnvironmentVariable("TRAINMANAGER_REQUIRE_ALL_TESTS") != "1")
            Skip = reason;
    }
}
