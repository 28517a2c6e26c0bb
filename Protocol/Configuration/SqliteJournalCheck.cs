using Microsoft.Data.Sqlite;

namespace TrainManager.Protocol.Configuration;

/// <summary>
/// Looks at the SQLite journal before an actor system is started on it. Akka's persistence meets a corrupt or locked file
/// only when the coordinator first recovers, and then retries behind a 30 s busy timeout with a stack trace each time,
/// until the client gives up with "the coordinator did not answer"; this says what is wrong with which file at once.
/// </summary>
public static class SqliteJournalCheck
{
    /// <summary>How long another process's write may hold the file before it counts as locked: other runs that share the
    /// journal hold it for milliseconds per write, a stuck or exclusive holder for ever.</summary>
    static readonly TimeSpan LockWait = TimeSpan.FromSeconds(1);

    /// <exception cref="JournalUnusableException">The file is not an SQLite database, is damaged, or another process holds it locked.</exception>
    public static void EnsureUsable(TrainManagerSettings settings)
    {
        if (settings.Store != JournalStore.Sqlite)
            return;
        var file = Path.GetFullPath(new SqliteConnectionStringBuilder(settings.JournalConnectionString).DataSource);
        if (!File.Exists(file))
            return; // a new journal: SQLite creates it
        var connection = new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false, // nothing of this check may keep the file open
            DefaultTimeout = (int)LockWait.TotalSeconds,
        }.ToString();
        try
        {
            using var journal = new SqliteConnection(connection);
            journal.Open();
            using var check = journal.CreateCommand();
            check.CommandText = "PRAGMA quick_check(1)";
            if (check.ExecuteScalar() is string verdict && verdict != "ok")
                throw JournalUnusableException.Corrupt(file, verdict);
            // The write lock Akka's first write will need, taken and given back at once.
            check.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            check.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED)
        {
            throw JournalUnusableException.Locked(file, e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT)
        {
            throw JournalUnusableException.Corrupt(file, SQLitePCL.raw.sqlite3_errstr(e.SqliteErrorCode).utf8_to_string(), e);
        }
        catch (SqliteException e)
        {
            throw new JournalUnusableException($"the journal {file} cannot be opened: {e.Message}", e);
        }
    }
}

/// <summary>The SQLite journal cannot be used; the message names the file and what to do.</summary>
public sealed class JournalUnusableException(string message, Exception? inner = null) : Exception(message, inner), TrainManager.Experiments.IBadInput
{
    public static JournalUnusableException Locked(string file, Exception inner) => new(
        $"the journal {file} is locked by another process (another trainmanager train or node holds it, or a tool has it open " +
        $"in a transaction); stop it, or give this one a state directory of its own with --state-dir DIR.", inner);

    public static JournalUnusableException Corrupt(string file, string problem, Exception? inner = null) => new(
        $"the journal {file} is not a Train Manager journal (corrupt: {problem}); move it aside (mv {file} {file}.bad) " +
        "to start a new one, or pass --state-dir DIR to use another.", inner);
}
