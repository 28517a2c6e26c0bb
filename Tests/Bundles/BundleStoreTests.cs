using TrainManager.Coordinator.Bundles;
using TrainManager.Protocol;
using TrainManager.Protocol.Configuration;
using TrainManager.Tests.Cluster;

namespace TrainManager.Tests.Bundles;

/// <summary>The coordinator's bundle stores (a folder beside the SQLite journal, tables in PostgreSQL) and the
/// retention rule that removes bundles no run uses.</summary>
public sealed class BundleStoreTests(PostgresJournalTests.Server server) : IClassFixture<PostgresJournalTests.Server>
{
    static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    static readonly BundleStoreOptions Options = new(TimeSpan.FromDays(7), 100, 50, TimeSpan.FromHours(1));

    static StoredBundle Stored(char name, long size, double daysSinceUse) =>
        new(new BundleRef(new string(name, 64), size, "P.csproj", "P.dll", "0.12.0", null, ""), Now.AddDays(-30), Now.AddDays(-daysSinceUse));

    public static TheoryData<string, StoredBundle[], string, string> Rules => new()
    {
        // what, stored, in use (names), removed (names)
        { "recently used bundles stay", [Stored('a', 10, 1), Stored('b', 10, 6.9)], "", "" },
        { "unused for longer than keep-unused: removed", [Stored('a', 10, 8), Stored('b', 10, 1)], "", "a" },
        { "in use by a run: kept however old", [Stored('a', 10, 30)], "a", "" },
        { "over the size cap: least recently used unused first", [Stored('a', 60, 3), Stored('b', 30, 2), Stored('c', 30, 1)], "", "a" },
        { "over the cap with the oldest in use: the next oldest goes", [Stored('a', 60, 3), Stored('b', 30, 2), Stored('c', 30, 1)], "a", "b" },
        { "everything in use: nothing removed, even over the cap", [Stored('a', 80, 3), Stored('b', 80, 2)], "ab", "" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void The_retention_rule(string what, StoredBundle[] stored, string inUse, string removed)
    {
        var used = inUse.Select(c => new string(c, 64)).ToHashSet();
        var result = BundleRetention.Remove(stored, used, Now, Options).Select(h => h[0]).Order();
        Assert.True(removed.SequenceEqual(result), $"{what}: removed {string.Concat(result)}, expected {removed}");
    }

    [Fact]
    public void An_upload_fits_only_when_the_rule_can_make_room_for_it()
    {
        StoredBundle[] stored = [Stored('a', 60, 1), Stored('b', 30, 1)];
        Assert.True(BundleRetention.Fits(stored, new HashSet<string>(), Now, Options, 40));
        Assert.False(BundleRetention.Fits(stored, stored.Select(s => s.Hash).ToHashSet(), Now, Options, 40));
        Assert.False(BundleRetention.Fits([], new HashSet<string>(), Now, Options, 101));
    }

    [Fact]
    public void The_folder_store_keeps_bundles_across_instances() =>
        RoundTrip(() => new DirectoryBundleStore(Path.Combine(Root, "bundles")));

    [PostgresFact]
    public void The_postgresql_store_keeps_bundles_across_instances()
    {
        var connection = server.Postgres.CreateDatabase();
        RoundTrip(() => new PostgresBundleStore(connection, Path.Combine(Root, "uploads")));
    }

    readonly string Root = TestDirectory.Create("bundle-store");

    void RoundTrip(Func<IBundleStore> open)
    {
        // Larger than a PostgreSQL row, not a multiple of it, so reads cross rows.
        var bytes = new byte[PostgresBundleStore.RowSize * 2 + 12345];
        new Random(11).NextBytes(bytes);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var bundle = new BundleRef(hash, bytes.Length, "P.csproj", "P.dll", "0.12.0", "abc", "mac");
        var store = open();
        Assert.Null(store.Find(hash));
        var archive = Path.Combine(store.UploadDirectory, hash + ".part");
        File.WriteAllBytes(archive, bytes);
        store.Add(bundle, archive, Now);
        Assert.False(File.Exists(archive), "the upload's part file is taken in");

        var again = open(); // a restarted coordinator
        var found = again.Find(hash)!;
        Assert.Equal(bundle, found.Bundle);
        Assert.Equal(bytes[..1000], again.Read(hash, 0, 1000));
        var across = PostgresBundleStore.RowSize - 100;
        Assert.Equal(bytes[across..(across + 262144)], again.Read(hash, across, 262144));
        Assert.Equal(bytes[^345..], again.Read(hash, bytes.Length - 345, 345));
        again.Touch(hash, Now.AddDays(1));
        Assert.Equal(Now.AddDays(1), open().Find(hash)!.LastUsed);
        Assert.Single(again.List());
        again.Remove(hash);
        Assert.Null(open().Find(hash));
        Assert.Empty(open().List());
    }
}
