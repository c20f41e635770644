using System.Collections.Concurrent;
using System.Diagnostics;
using Ccflare.Storage.Testing;
using static Ccflare.Storage.Testing.StoreTestData;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>LISTEN/NOTIFY between two stores on one database, and the advisory lock they share.</summary>
[Collection(TimingCollection.Name)]
public sealed class ChangeFeedTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private PostgreSqlStore _writer = null!;
    private PostgreSqlStore _reader = null!;
    private PostgreSqlStore _otherSchema = null!;
    private string _connectionString = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("feed");
        _writer = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = _connectionString });
        _reader = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = _connectionString });
        _otherSchema = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = _connectionString, Schema = "other" });
        await Task.WhenAll(_writer.InitializeAsync(Ct), _reader.InitializeAsync(Ct), _otherSchema.InitializeAsync(Ct));
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _reader.DisposeAsync();
        await _otherSchema.DisposeAsync();
        _timeout.Dispose();
    }

    private async Task<(BlockingCollection<StoreChanges> Changes, IDisposable Subscription)> SubscribeAsync(PostgreSqlStore store)
    {
        var changes = new BlockingCollection<StoreChanges>();
        var subscription = store.Subscribe(changes.Add);
        await store.Listener!.Listening.WaitAsync(Ct);
        // Changes made before the LISTEN was in place were never notified: the listener says "reload everything" first.
        Assert.Equal(StoreChanges.All, Next(changes, TimeSpan.FromSeconds(1)));
        return (changes, subscription);
    }

    private static StoreChanges Next(BlockingCollection<StoreChanges> changes, TimeSpan within)
    {
        Assert.True(changes.TryTake(out var change, within), $"no notification within {within.TotalMilliseconds} ms");
        return change;
    }

    [Fact]
    public async Task Writes_to_accounts_settings_and_users_reach_another_store_within_a_second_and_history_writes_do_not()
    {
        var (changes, subscription) = await SubscribeAsync(_reader);
        using (subscription)
        {
            var watch = Stopwatch.StartNew();
            await _writer.AddAccountAsync(MinimalAccount("a1", "alpha", T0), Ct);
            Assert.Equal(StoreChanges.Accounts, Next(changes, TimeSpan.FromSeconds(1)));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"{watch.ElapsedMilliseconds} ms");

            await _writer.UpdateAccountAsync(MinimalAccount("a1", "alpha", T0) with { RateLimitedUntil = T0.AddHours(1) }, Ct);
            Assert.Equal(StoreChanges.Accounts, Next(changes, TimeSpan.FromSeconds(1)));

            await _writer.SetSettingAsync("lb_strategy", "round-robin", Ct);
            Assert.Equal(StoreChanges.Settings, Next(changes, TimeSpan.FromSeconds(1)));

            await _writer.AddUserAsync(new AccessKeyUser { Id = "u1", Name = "alice", AccessKeyHash = new string('a', 64), CreatedAt = T0 }, Ct);
            Assert.Equal(StoreChanges.Users, Next(changes, TimeSpan.FromSeconds(1)));

            await _writer.DeleteAccountAsync("a1", Ct);
            Assert.Equal(StoreChanges.Accounts, Next(changes, TimeSpan.FromSeconds(1)));

            // History, sessions and another schema's tables are not this deployment's hot state.
            await _writer.WriteRequestsAsync([BatchRecord("r1", T0)], Ct);
            await _writer.SaveAuthSessionAsync(new AuthSession { Id = "s", Provider = "codex", AccountName = "n", StateJson = "{}", CreatedAt = T0, ExpiresAt = T0 }, Ct);
            await _otherSchema.SetSettingAsync("lb_strategy", "weighted", Ct);
            Assert.False(changes.TryTake(out var unexpected, TimeSpan.FromMilliseconds(500)), $"unexpected {unexpected}");
        }
    }

    [Fact]
    public async Task A_dropped_listening_connection_reconnects_and_reports_everything_changed()
    {
        var (changes, subscription) = await SubscribeAsync(_reader);
        using (subscription)
        {
            // Only this test's database: other test classes listen on the same server at the same time.
            await using (var connection = new Npgsql.NpgsqlConnection(_connectionString))
            {
                await connection.OpenAsync(Ct);
                await using var kill = new Npgsql.NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN ccflare_changes%' AND pid <> pg_backend_pid();",
                    connection);
                Assert.Equal(1L, await kill.ExecuteScalarAsync(Ct));
            }

            Assert.Equal(StoreChanges.All, Next(changes, TimeSpan.FromSeconds(10)));
            await _writer.SetSettingAsync("k", "v", Ct);
            Assert.Equal(StoreChanges.Settings, Next(changes, TimeSpan.FromSeconds(2)));
        }
    }

    [Fact]
    public async Task The_lock_excludes_another_store_until_it_is_released()
    {
        var held = await _writer.AcquireLockAsync("oauth-refresh:a1", Ct);
        var waiting = _reader.AcquireLockAsync("oauth-refresh:a1", Ct);
        var other = await _reader.AcquireLockAsync("oauth-refresh:a2", Ct);
        await other.DisposeAsync();

        await Task.Delay(300, Ct);
        Assert.False(waiting.IsCompleted);

        await held.DisposeAsync();
        var second = await waiting.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await second.DisposeAsync();
    }

    [Fact]
    public async Task A_store_with_listening_off_reports_nothing()
    {
        await using var quiet = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = (await PostgresServer.GetAsync()).ConnectionString(), ListenForChanges = false });
        Assert.Null(quiet.Listener);
        using var subscription = quiet.Subscribe(_ => Assert.Fail("no notification expected"));
    }
}
