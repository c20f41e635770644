using Ccflare.Storage.LiteDb;
using LiteDB;
using Microsoft.Extensions.DependencyInjection;
using Ccflare.Storage.Testing;
using static Ccflare.Storage.Testing.StoreTestData;

namespace Ccflare.Storage.Tests;

/// <summary>The contract against the LiteDB store, plus what is specific to its file.</summary>
public sealed class LiteDbStoreTests : FileStoreContractTests
{
    protected override string DatabaseFileName => "ccflare.litedb";

    protected override ICcflareStore CreateStore(string directory) =>
        new LiteDbStore(new LiteDbStorageOptions { DatabasePath = Path.Combine(directory, DatabaseFileName) });

    private LiteDatabase OpenRaw() => new(new ConnectionString { Filename = Path.Combine(Directory, DatabaseFileName), Connection = ConnectionType.Direct });

    protected override void SetFileVersion(int version)
    {
        using var database = OpenRaw();
        database.UserVersion = version;
    }

    /// <summary>Only the database file remains (the log file is LiteDB's own and may linger empty).</summary>
    protected override void AssertNothingPendingBesideTheFile() =>
        Assert.Equal([DatabaseFileName], System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).Where(f => !f!.EndsWith("-log.litedb", StringComparison.Ordinal)));

    protected override void UseStorage(ICcflareBuilder builder, string path) => builder.UseLiteDbStorage(path);

    protected override string DatabasePathOf(ICcflareStore store) => Assert.IsType<LiteDbStore>(store).DatabasePath;

    [Fact]
    public async Task File_has_the_latest_schema_version_and_the_query_indexes()
    {
        await DisposeStoreAsync(Store);
        using var database = OpenRaw();

        Assert.Equal(LiteDbSchema.LatestVersion, database.UserVersion);
        var indexes = database.GetCollection("$indexes").FindAll()
            .Select(i => $"{i["collection"].AsString}.{i["name"].AsString}{(i["unique"].AsBoolean ? "!" : "")}")
            .ToHashSet();
        Assert.Superset(new HashSet<string>(
        [
            "requests.Timestamp", "requests.AccountUsed", "requests.Model", "requests.UserId",
            "accounts.Name!", "users.Name!", "users.AccessKeyHash!", "request_payloads.Timestamp",
        ]), indexes);
        Store = CreateStore(Directory);
    }

    [Fact]
    public async Task Payloads_live_in_their_own_collection()
    {
        await Store.WriteRequestsAsync([BatchRecord("r1", T0), MinimalRecord("r2", T0)], Ct);
        await DisposeStoreAsync(Store);

        using (var database = OpenRaw())
        {
            Assert.Equal(2, database.GetCollection(LiteDbStore.Requests).Count());
            Assert.Equal(1, database.GetCollection(LiteDbStore.Payloads).Count());
            Assert.False(database.GetCollection(LiteDbStore.Requests).FindById("r1").ContainsKey("RequestBody"));
        }
        Store = CreateStore(Directory);
    }

    [Fact]
    public async Task The_file_is_exclusive_to_one_open_store()
    {
        await Store.SetSettingAsync("k", "v", Ct);
        var second = CreateStore(Directory);
        try
        {
            await Assert.ThrowsAsync<IOException>(() => second.InitializeAsync(Ct));
        }
        finally
        {
            await DisposeStoreAsync(second);
        }
        Assert.Equal("v", (await Store.GetSettingsAsync(Ct))["k"]);
    }

    [Fact]
    public void UseLiteDbStorage_with_options_applies_them()
    {
        var services = new ServiceCollection();
        services.AddCcflare().UseLiteDbStorage(o => o.DatabasePath = Path.Combine(Directory, "configured.litedb"));
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<LiteDbStore>(provider.GetRequiredService<ICcflareStore>());
        Assert.Equal(Path.Combine(Directory, "configured.litedb"), store.DatabasePath);
    }
}
