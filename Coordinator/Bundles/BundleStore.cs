using System.Text.Json;
using Npgsql;
using TrainManager.Protocol;
using TrainManager.Protocol.Configuration;
using TrainManager.Runtime;

namespace TrainManager.Coordinator.Bundles;

/// <summary>A bundle the coordinator holds, complete and verified, with when it was stored and last used.</summary>
public sealed record StoredBundle(BundleRef Bundle, DateTimeOffset StoredAt, DateTimeOffset LastUsed)
{
    public string Hash => Bundle.Hash;
    public long Size => Bundle.Size;
}

/// <summary>
/// Where the coordinator keeps bundles, durably and beside its journal: only complete, verified bundles are ever in it
/// (an upload goes to a part file first), so a coordinator that restarts finds each bundle whole or not at all.
/// </summary>
public interface IBundleStore
{
    StoredBundle? Find(string hash);
    IReadOnlyList<StoredBundle> List();
    /// <summary>Adds the verified archive <paramref name="archive"/> (the file is consumed).</summary>
    StoredBundle Add(BundleRef bundle, string archive, DateTimeOffset at);
    byte[] Read(string hash, long offset, int length);
    void Touch(string hash, DateTimeOffset at);
    void Remove(string hash);
    /// <summary>Where uploads in progress are kept (a folder of this coordinator's state directory).</summary>
    string UploadDirectory { get; }
}

public static class BundleStores
{
    /// <summary>The store beside the journal <paramref name="settings"/> name: a folder next to the SQLite file, or tables
    /// in the PostgreSQL database.</summary>
    public static IBundleStore For(TrainManagerSettings settings) => settings.Store == JournalStore.PostgreSql
        ? new PostgresBundleStore(settings.JournalConnectionString, Path.Combine(settings.StateDirectory, "bundle-uploads"))
        : new DirectoryBundleStore(Path.Combine(settings.StateDirectory, "bundles"));
}

/// <summary>Bundles as files: <c>HASH.tar</c> and its description <c>HASH.json</c>, written after the archive, so a
/// description always names a whole archive.</summary>
public sealed class DirectoryBundleStore : IBundleStore
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    readonly string _directory;

    public DirectoryBundleStore(string directory)
    {
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
        Directory.CreateDirectory(UploadDirectory);
    }

    public string UploadDirectory => Path.Combine(_directory, "uploads");

    string Archive(string hash) => Path.Combine(_directory, RequireHash(hash) + ".tar");
    string Description(string hash) => Path.Combine(_directory, RequireHash(hash) + ".json");

    public StoredBundle? Find(string hash)
    {
        var description = Description(hash);
        if (!File.Exists(description) || !File.Exists(Archive(hash)))
            return null;
        return JsonSerializer.Deserialize<StoredBundle>(File.ReadAllBytes(description), Json);
    }

    public IReadOnlyList<StoredBundle> List() => Directory.GetFiles(_directory, "*.json")
        .Select(f => Path.GetFileNameWithoutExtension(f))
        .Where(IsHash)
        .Select(Find)
        .OfType<StoredBundle>()
        .ToList();

    public StoredBundle Add(BundleRef bundle, string archive, DateTimeOffset at)
    {
        File.Move(archive, Archive(bundle.Hash), overwrite: true);
        var stored = new StoredBundle(bundle, at, at);
        AtomicFile.Write(Description(bundle.Hash), JsonSerializer.SerializeToUtf8Bytes(stored, Json));
        return stored;
    }

    public byte[] Read(string hash, long offset, int length)
    {
        using var file = new FileStream(Archive(hash), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        return bytes;
    }

    public void Touch(string hash, DateTimeOffset at)
    {
        if (Find(hash) is { } stored)
            AtomicFile.Write(Description(hash), JsonSerializer.SerializeToUtf8Bytes(stored with { LastUsed = at }, Json));
    }

    public void Remove(string hash)
    {
        File.Delete(Description(hash));
        File.Delete(Archive(hash));
    }

    internal static bool IsHash(string text) => text.Length == 64 && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    internal static string RequireHash(string hash) => IsHash(hash)
        ? hash
        : throw new ArgumentException($"'{hash}' is not a bundle name (64 lower-case hex digits)", nameof(hash));
}

/// <summary>
/// Bundles in the journal's PostgreSQL database, so every coordinator node that can take over finds them: the archive
/// in rows of <see cref="RowSize"/> bytes (<c>trainmanager_bundle_chunks</c>) and its description
/// (<c>trainmanager_bundles</c>), written in one transaction. The tables are created on first use, like the journal's.
/// </summary>
public sealed class PostgresBundleStore : IBundleStore
{
    public const int RowSize = 1 << 20;
    readonly string _connectionString;
    bool _created;

    public PostgresBundleStore(string connectionString, string uploadDirectory)
    {
        _connectionString = connectionString;
        UploadDirectory = Path.GetFullPath(uploadDirectory);
        Directory.CreateDirectory(UploadDirectory);
    }

    public string UploadDirectory { get; }

    NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(_connectionString);
        connection.Open();
        if (!_created)
        {
            using var create = new NpgsqlCommand("""
                CREATE TABLE IF NOT EXISTS trainmanager_bundles (
                    hash text PRIMARY KEY, size bigint NOT NULL, description text NOT NULL,
                    stored_at timestamptz NOT NULL, last_used timestamptz NOT NULL);
                CREATE TABLE IF NOT EXISTS trainmanager_bundle_chunks (
                    hash text NOT NULL, seq integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (hash, seq));
                """, connection);
            create.ExecuteNonQuery();
            _created = true;
        }
        return connection;
    }

    public StoredBundle? Find(string hash)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("SELECT description, stored_at, last_used FROM trainmanager_bundles WHERE hash = @hash", connection);
        command.Parameters.AddWithValue("hash", DirectoryBundleStore.RequireHash(hash));
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public IReadOnlyList<StoredBundle> List()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("SELECT description, stored_at, last_used FROM trainmanager_bundles", connection);
        using var reader = command.ExecuteReader();
        var list = new List<StoredBundle>();
        while (reader.Read())
            list.Add(Read(reader));
        return list;
    }

    static StoredBundle Read(NpgsqlDataReader reader) => new(
        JsonSerializer.Deserialize<BundleRef>(reader.GetString(0))!,
        new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero));

    public StoredBundle Add(BundleRef bundle, string archive, DateTimeOffset at)
    {
        using (var connection = Open())
        using (var transaction = connection.BeginTransaction())
        {
            using (var clear = new NpgsqlCommand("DELETE FROM trainmanager_bundle_chunks WHERE hash = @hash; DELETE FROM trainmanager_bundles WHERE hash = @hash", connection, transaction))
            {
                clear.Parameters.AddWithValue("hash", bundle.Hash);
                clear.ExecuteNonQuery();
            }
            using (var file = File.OpenRead(archive))
            {
                var buffer = new byte[RowSize];
                for (var seq = 0; ; seq++)
                {
                    var read = file.ReadAtLeast(buffer, RowSize, throwOnEndOfStream: false);
                    if (read == 0) break;
                    using var insert = new NpgsqlCommand("INSERT INTO trainmanager_bundle_chunks (hash, seq, data) VALUES (@hash, @seq, @data)", connection, transaction);
                    insert.Parameters.AddWithValue("hash", bundle.Hash);
                    insert.Parameters.AddWithValue("seq", seq);
                    insert.Parameters.AddWithValue("data", read == RowSize ? buffer : buffer[..read]);
                    insert.ExecuteNonQuery();
                    if (read < RowSize) break;
                }
            }
            using (var describe = new NpgsqlCommand(
                "INSERT INTO trainmanager_bundles (hash, size, description, stored_at, last_used) VALUES (@hash, @size, @description, @at, @at)", connection, transaction))
            {
                describe.Parameters.AddWithValue("hash", bundle.Hash);
                describe.Parameters.AddWithValue("size", bundle.Size);
                describe.Parameters.AddWithValue("description", JsonSerializer.Serialize(bundle));
                describe.Parameters.AddWithValue("at", at.UtcDateTime);
                describe.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        File.Delete(archive);
        return new StoredBundle(bundle, at, at);
    }

    public byte[] Read(string hash, long offset, int length)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(
            "SELECT seq, data FROM trainmanager_bundle_chunks WHERE hash = @hash AND seq BETWEEN @first AND @last ORDER BY seq", connection);
        command.Parameters.AddWithValue("hash", hash);
        command.Parameters.AddWithValue("first", (int)(offset / RowSize));
        command.Parameters.AddWithValue("last", (int)((offset + length - 1) / RowSize));
        using var reader = command.ExecuteReader();
        var bytes = new byte[length];
        var filled = 0;
        while (reader.Read())
        {
            var rowStart = (long)reader.GetInt32(0) * RowSize;
            var row = (byte[])reader[1];
            var from = (int)Math.Max(0, offset + filled - rowStart);
            var count = Math.Min(row.Length - from, length - filled);
            Array.Copy(row, from, bytes, filled, count);
            filled += count;
        }
        return filled == length ? bytes : throw new IOException($"bundle {hash[..12]} holds fewer bytes than its description says; it is damaged in the database.");
    }

    public void Touch(string hash, DateTimeOffset at)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("UPDATE trainmanager_bundles SET last_used = @at WHERE hash = @hash", connection);
        command.Parameters.AddWithValue("hash", hash);
        command.Parameters.AddWithValue("at", at.UtcDateTime);
        command.ExecuteNonQuery();
    }

    public void Remove(string hash)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("DELETE FROM trainmanager_bundles WHERE hash = @hash; DELETE FROM trainmanager_bundle_chunks WHERE hash = @hash", connection);
        command.Parameters.AddWithValue("hash", hash);
        command.ExecuteNonQuery();
    }
}

/// <summary>The retention rule (<c>trainmanager.bundles</c>, documented in cluster.hocon) as a function: which bundles to
/// remove, given which are stored, which a run that has not ended uses, and the time.</summary>
public static class BundleRetention
{
    public static IReadOnlyList<string> Remove(IReadOnlyList<StoredBundle> stored, IReadOnlySet<string> inUse, DateTimeOffset now,
        BundleStoreOptions options, long incoming = 0)
    {
        var removed = stored.Where(b => !inUse.Contains(b.Hash) && now - b.LastUsed > options.KeepUnused).Select(b => b.Hash).ToList();
        var total = stored.Where(b => !removed.Contains(b.Hash)).Sum(b => b.Size) + incoming;
        foreach (var bundle in stored.Where(b => !inUse.Contains(b.Hash) && !removed.Contains(b.Hash)).OrderBy(b => b.LastUsed))
        {
            if (total <= options.MaxSize)
                break;
            removed.Add(bundle.Hash);
            total -= bundle.Size;
        }
        return removed;
    }

    /// <summary>Whether <paramref name="incoming"/> bytes fit once the rule has removed what it may.</summary>
    public static bool Fits(IReadOnlyList<StoredBundle> stored, IReadOnlySet<string> inUse, DateTimeOffset now, BundleStoreOptions options, long incoming)
    {
        var removed = Remove(stored, inUse, now, options, incoming).ToHashSet();
        return stored.Where(b => !removed.Contains(b.Hash)).Sum(b => b.Size) + incoming <= options.MaxSize;
    }
}
