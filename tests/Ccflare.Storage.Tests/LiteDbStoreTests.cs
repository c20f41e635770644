using Ccflare.Storage.LiteDb;
using LiteDB;
using Microsoft.Extensions.DependencyInjection;
using static Ccflare.Storage.Tests.TestData;

namespace Ccflare.Storage.Tests;

/// <summary>The contract against the LiteDB store, plus what is specific to its file.</summary>
public sealed class LiteDbStoreTests : FileStoreContractTests
{
    protected override string DatabaseFileName => "ccflare.litedb";

    protected override ICcflareStore CreateStore(string directory) =>
        new LiteDbStore(new LiteDbStorageOptions { DatabasePath = Path.Combine(directory, DatabaseFileName) });

    private LiteDatabase OpenRaw() => new(new ConnectionString { Filename = Path.Combine(Directory, DatabaseFileName), Connection = ConnectionType.Direct });

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
    public async Task Compaction_shrinks_the_file_after_deletions()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 2000).Select(i => BatchRecord($"r{i:D4}", T0.AddSeconds(i)))], Ct);
        await Store.CompactAsync(Ct);
        var full = new FileInfo(Path.Combine(Directory, DatabaseFileName)).Length;
        await Store.DeleteRequestsAsync(T0.AddSeconds(1900), Ct);

        await Store.CompactAsync(Ct);

        var compacted = new FileInfo(Path.Combine(Directory, DatabaseFileName)).Length;
        Assert.True(compacted < full / 2, $"{compacted} bytes after compaction, {full} before");
        Assert.Equal([DatabaseFileName], System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).Where(f => !f!.EndsWith("-log.litedb", StringComparison.Ordinal)));
        Assert.Equal(100, (await QueryIdsAsync(new RequestQuery())).Count);
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
    public async Task A_file_from_a_newer_version_is_refused()
    {
        await DisposeStoreAsync(Store);
        using (var database = OpenRaw())
        {
            database.UserVersion = 99;
        }

        Store = CreateStore(Directory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.InitializeAsync(Ct));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseLiteDbStorage_registers_the_store_for_the_given_file()
    {
        var path = Path.Combine(Directory, "di", "ccflare.litedb");
        var services = new ServiceCollection();
        services.AddCcflare().UseLiteDbStorage(path);
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<LiteDbStore>(provider.GetRequiredService<ICcflareStore>());
        Assert.Equal(path, store.DatabasePath);
        await store.InitializeAsync(Ct);
        Assert.True(File.Exists(path));
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
