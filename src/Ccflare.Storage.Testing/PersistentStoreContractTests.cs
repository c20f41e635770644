using Microsoft.Extensions.DependencyInjection;
using static Ccflare.Storage.Testing.StoreTestData;

namespace Ccflare.Storage.Testing;

/// <summary>
/// The part of the contract only durable stores have: data survives disposing the store and opening
/// a new one on the same database (the same <see cref="StoreContractTests.CreateStore"/> directory).
/// </summary>
public abstract class PersistentStoreContractTests : StoreContractTests
{
    /// <summary>Disposes the current store (releasing the file) and opens a new one on the same file.</summary>
    protected async Task ReopenAsync()
    {
        await DisposeStoreAsync(Store);
        Store = CreateStore(Directory);
        await Store.InitializeAsync(Ct);
    }

    [Fact]
    public async Task Reopening_the_file_after_dispose_loses_nothing()
    {
        var account = FullAccount();
        var full = FullRecord();
        var records = Enumerable.Range(0, 200).Select(i => BatchRecord($"r{i:D3}", T0.AddSeconds(i), withPayload: i % 2 == 0)).ToList();
        var session = new AuthSession { Id = "s1", Provider = "codex", AccountName = "new", StateJson = "{}", CreatedAt = T0, ExpiresAt = T0.AddMinutes(10) };
        var user = new AccessKeyUser { Id = "u1", Name = "alice", AccessKeyHash = new string('f', 64), CreatedAt = T0.AddMilliseconds(3) };
        await Store.AddAccountAsync(account, Ct);
        await Store.WriteRequestsAsync([full, .. records], Ct);
        await Store.SetSettingAsync("lb_strategy", "weighted", Ct);
        await Store.SaveAuthSessionAsync(session, Ct);
        await Store.AddUserAsync(user, Ct);

        await ReopenAsync();

        Assert.Equal([account], await Store.GetAccountsAsync(Ct));
        AssertRecordEqual(full, await Store.GetRequestAsync(full.Id, Ct));
        AssertRecordEqual(records[198], await Store.GetRequestAsync("r198", Ct));
        AssertRecordEqual(records[199], await Store.GetRequestAsync("r199", Ct));
        Assert.Equal(201, (await QueryIdsAsync(new RequestQuery())).Count);
        Assert.Equal("weighted", (await Store.GetSettingsAsync(Ct))["lb_strategy"]);
        Assert.Equal(session, await Store.GetAuthSessionAsync("s1", Ct));
        Assert.Equal([user], await Store.GetUsersAsync(Ct));

        // Constraints are still in force after reopening (the schema is not re-created or duplicated).
        Assert.False(await Store.AddAccountAsync(account with { Id = "other" }, Ct));
        Assert.False(await Store.AddUserAsync(user with { Id = "u2" }, Ct));
    }

    [Fact]
    public async Task Reopening_after_compaction_and_deletion_keeps_the_remaining_data()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 100).Select(i => BatchRecord($"r{i:D3}", T0.AddSeconds(i)))], Ct);
        await Store.DeleteRequestsAsync(T0.AddSeconds(50), Ct);
        await Store.DeletePayloadsAsync(T0.AddSeconds(75), Ct);
        await Store.CompactAsync(Ct);

        await ReopenAsync();
        await ReopenAsync();

        var ids = await QueryIdsAsync(new RequestQuery());
        Assert.Equal(50, ids.Count);
        Assert.Null((await Store.GetRequestAsync("r060", Ct))!.Payload);
        Assert.NotNull((await Store.GetRequestAsync("r080", Ct))!.Payload);
    }

    [Fact]
    public async Task A_store_used_before_InitializeAsync_initializes_itself()
    {
        var store = CreateStore(Path.Combine(Directory, "lazy"));
        try
        {
            Assert.Empty(await store.GetAccountsAsync(Ct));
            Assert.True(await store.AddAccountAsync(MinimalAccount("a1", "alpha", T0), Ct));
            await store.InitializeAsync(Ct);
            Assert.Single(await store.GetAccountsAsync(Ct));
        }
        finally
        {
            await DisposeStoreAsync(store);
        }
    }
}

/// <summary>The part of the contract only single-file stores have: the file and its directories.</summary>
public abstract class FileStoreContractTests : PersistentStoreContractTests
{
    /// <summary>File name of the database inside the directory given to <see cref="StoreContractTests.CreateStore"/>.</summary>
    protected abstract string DatabaseFileName { get; }

    /// <summary>Stamps the (closed) database file with schema version <paramref name="version"/>, bypassing the store.</summary>
    protected abstract void SetFileVersion(int version);

    /// <summary>After compaction: nothing is left pending beside the file (WAL, journal).</summary>
    protected abstract void AssertNothingPendingBesideTheFile();

    /// <summary>Registers the store through its builder extension for the file at <paramref name="path"/>.</summary>
    protected abstract void UseStorage(ICcflareBuilder builder, string path);

    /// <summary>Asserts <paramref name="store"/> is this store type and returns the file path it was given.</summary>
    protected abstract string DatabasePathOf(ICcflareStore store);

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
        AssertNothingPendingBesideTheFile();
        Assert.Equal(100, (await QueryIdsAsync(new RequestQuery())).Count);
    }

    [Fact]
    public async Task A_file_from_a_newer_version_is_refused()
    {
        await DisposeStoreAsync(Store);
        SetFileVersion(99);

        Store = CreateStore(Directory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.InitializeAsync(Ct));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_builder_extension_registers_the_store_for_the_given_file()
    {
        var path = Path.Combine(Directory, "di", DatabaseFileName);
        var services = new ServiceCollection();
        UseStorage(services.AddCcflare(), path);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ICcflareStore>();
        Assert.Equal(path, DatabasePathOf(store));
        await store.InitializeAsync(Ct);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task Missing_directories_of_the_database_file_are_created()
    {
        var nested = Path.Combine(Directory, "deeper", "still");
        var store = CreateStore(nested);
        try
        {
            await store.InitializeAsync(Ct);
            await store.SetSettingAsync("k", "v", Ct);

            Assert.True(File.Exists(Path.Combine(nested, DatabaseFileName)));
        }
        finally
        {
            await DisposeStoreAsync(store);
        }
    }

    [Fact]
    public async Task Disposing_releases_the_file_so_it_can_be_moved_and_reopened()
    {
        await Store.SetSettingAsync("k", "v", Ct);
        await Store.GetSettingsAsync(Ct);
        await DisposeStoreAsync(Store);

        var moved = Path.Combine(Directory, "moved");
        System.IO.Directory.CreateDirectory(moved);
        File.Move(Path.Combine(Directory, DatabaseFileName), Path.Combine(moved, DatabaseFileName));

        Store = CreateStore(moved);
        await Store.InitializeAsync(Ct);
        Assert.Equal("v", (await Store.GetSettingsAsync(Ct))["k"]);
    }
}
