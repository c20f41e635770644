using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Ccflare.Storage.Testing;
using static Ccflare.Storage.Testing.StoreTestData;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// The storage contract against PostgreSQL. Each test directory maps to its own schema in one shared
/// database, so tests stay isolated and "reopening the same directory" reopens the same tables.
/// </summary>
public sealed class PostgreSqlStoreTests : PersistentStoreContractTests
{
    private static readonly Lazy<Task<string>> Database = new(() => Task.Run(async () => await (await PostgresServer.GetAsync()).CreateDatabaseAsync("contract")));

    private string _connectionString = null!;

    /// <summary>Schema for a test directory: stable for the same path, distinct for different ones.</summary>
    internal static string SchemaFor(string directory) =>
        "t_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(directory)))[..24];

    protected override ICcflareStore CreateStore(string directory)
    {
        _connectionString ??= Database.Value.GetAwaiter().GetResult();
        return new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = _connectionString, Schema = SchemaFor(directory) });
    }

    private async Task<NpgsqlConnection> OpenRawAsync()
    {
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await OpenRawAsync();
        await using var command = new NpgsqlCommand(sql.Replace("{s}", SchemaFor(Directory), StringComparison.Ordinal), connection);
        return await command.ExecuteScalarAsync(Ct);
    }

    [Fact]
    public async Task Schema_is_at_the_latest_version_and_has_ccflares_columns()
    {
        Assert.Equal(PostgreSqlSchema.LatestVersion, await ScalarAsync("SELECT version FROM {s}.ccflare_schema_version;"));
        var columns = (string)(await ScalarAsync(
            "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '{s}' AND table_name = 'accounts';"))!;
        Assert.Contains("rate_limited_until", columns.Split(','));
        Assert.Contains("token_status_reason", columns.Split(','));
    }

    [Fact]
    public async Task Instants_are_stored_as_timestamptz_at_millisecond_precision()
    {
        await Store.WriteRequestsAsync([MinimalRecord("r1", T0.AddMilliseconds(5))], Ct);

        var stored = (DateTime)(await ScalarAsync("SELECT timestamp FROM {s}.requests WHERE id = 'r1';"))!;
        Assert.Equal(T0.AddMilliseconds(5).UtcDateTime, stored);
    }

    [Fact]
    public async Task A_schema_from_a_newer_version_is_refused()
    {
        await ScalarAsync("UPDATE {s}.ccflare_schema_version SET version = 99;");
        await DisposeStoreAsync(Store);
        Store = CreateStore(Directory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.InitializeAsync(Ct));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eight_stores_migrating_one_empty_schema_at_once_all_succeed_and_migrate_once()
    {
        var directory = Path.Combine(Directory, "race");
        var stores = Enumerable.Range(0, 8).Select(_ => CreateStore(directory)).ToList();
        try
        {
            using var start = new Barrier(stores.Count);
            await Task.WhenAll(stores.Select(store => Task.Run(async () =>
            {
                start.SignalAndWait(Ct);
                await store.InitializeAsync(Ct);
            })));

            // Every replica can write at once, and the tables exist exactly once.
            await Task.WhenAll(stores.Select((store, i) => store.AddAccountAsync(MinimalAccount($"a{i}", $"n{i}", T0), Ct)));
            Assert.Equal(8, (await stores[0].GetAccountsAsync(Ct)).Count);
            var schema = SchemaFor(directory);
            Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'accounts';"));
            Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM {schema}.ccflare_schema_version;"));
        }
        finally
        {
            foreach (var store in stores)
            {
                await DisposeStoreAsync(store);
            }
        }
    }

    [Fact]
    public async Task Analytics_and_retention_queries_use_the_indexes()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 50).Select(i => BatchRecord($"r{i}", T0.AddMinutes(i)))], Ct);
        await using var connection = await OpenRawAsync();

        async Task<string> PlanAsync(string sql)
        {
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            await using (var off = new NpgsqlCommand("SET LOCAL enable_seqscan = off;", connection, transaction))
            {
                await off.ExecuteNonQueryAsync(Ct);
            }
            await using var command = new NpgsqlCommand("EXPLAIN " + sql.Replace("{s}", SchemaFor(Directory), StringComparison.Ordinal), connection, transaction);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            var plan = new StringBuilder();
            while (await reader.ReadAsync(Ct))
            {
                plan.AppendLine(reader.GetString(0));
            }
            return plan.ToString();
        }

        Assert.Contains("requests_timestamp_idx", await PlanAsync("SELECT id FROM {s}.requests WHERE timestamp >= now() ORDER BY timestamp, seq"));
        Assert.Contains("requests_account_used_timestamp_idx", await PlanAsync("SELECT id FROM {s}.requests WHERE account_used = 'a' AND timestamp >= now()"));
        Assert.Contains("requests_model_timestamp_idx", await PlanAsync("SELECT id FROM {s}.requests WHERE model = 'm' AND timestamp >= now()"));
        Assert.Contains("requests_user_id_timestamp_idx", await PlanAsync("SELECT id FROM {s}.requests WHERE user_id = 'u' AND timestamp >= now()"));
        Assert.Contains("request_payloads_timestamp_idx", await PlanAsync("SELECT id FROM {s}.request_payloads WHERE timestamp < now()"));
    }

    [Fact]
    public async Task Retention_deletes_in_batches_and_removes_everything_older()
    {
        await DisposeStoreAsync(Store);
        Store = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = _connectionString, Schema = SchemaFor(Directory), RetentionBatchSize = 7 });
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 100).Select(i => BatchRecord($"r{i:D3}", T0.AddSeconds(i)))], Ct);

        Assert.Equal(30, await Store.DeletePayloadsAsync(T0.AddSeconds(30), Ct));
        Assert.Equal(21, await Store.DeleteRequestsAsync(T0.AddSeconds(21), Ct));

        Assert.Equal(79, (await QueryIdsAsync(new RequestQuery())).Count);
        Assert.Equal(70L, await ScalarAsync("SELECT count(*) FROM {s}.request_payloads;"));
    }

    [Fact]
    public async Task A_batch_repeating_an_id_keeps_the_last_record()
    {
        await Store.WriteRequestsAsync([BatchRecord("dup", T0), MinimalRecord("dup", T0.AddSeconds(1), 503), BatchRecord("other", T0)], Ct);

        AssertRecordEqual(MinimalRecord("dup", T0.AddSeconds(1), 503), await Store.GetRequestAsync("dup", Ct));
        Assert.Equal(2, (await QueryIdsAsync(new RequestQuery())).Count);
    }

    [Fact]
    public async Task Writing_the_proxys_state_keeps_every_operator_field_writes_usage_and_never_moves_a_rate_limit_back()
    {
        var stored = FullAccount() with { Paused = false, RateLimitedUntil = T0.AddHours(5) };
        await Store.AddAccountAsync(stored, Ct);
        // Another instance paused it and changed credentials; this one still has the old operator fields in memory.
        var operatorChange = stored with { Paused = true, Name = "renamed", AccessToken = "at-new", ExpiresAt = T0.AddDays(90), Priority = 1 };
        Assert.True(await Store.UpdateAccountAsync(operatorChange, Ct));
        var fromMemory = stored with
        {
            RequestCount = 99, TotalRequests = 4_200_000_099L, LastUsed = T0.AddDays(2), SessionStart = T0.AddDays(2), SessionRequestCount = 3,
            RateLimitedUntil = T0.AddHours(1), RateLimitReset = T0.AddHours(7), RateLimitStatus = "allowed", RateLimitRemaining = 12,
            Usage = new AccountUsage { UpdatedAt = T0.AddDays(2), Status = "rejected", Windows = [new UsageWindow("seven_day_opus", 10080, 1, T0.AddDays(3), "rejected")] },
        };

        Assert.True(await ((ICcflareAccountStateUpdates)Store).UpdateAccountStateAsync(fromMemory, Ct));
        Assert.False(await ((ICcflareAccountStateUpdates)Store).UpdateAccountStateAsync(fromMemory with { Id = "unknown" }, Ct));

        var row = Assert.Single(await Store.GetAccountsAsync(Ct));
        Assert.Equal(operatorChange with
        {
            RequestCount = 99, TotalRequests = 4_200_000_099L, LastUsed = T0.AddDays(2), SessionStart = T0.AddDays(2), SessionRequestCount = 3,
            RateLimitedUntil = T0.AddHours(5), RateLimitReset = T0.AddHours(7), RateLimitStatus = "allowed", RateLimitRemaining = 12,
            Usage = new AccountUsage { UpdatedAt = T0.AddDays(2), Status = "rejected", Windows = [new UsageWindow("seven_day_opus", 10080, 1, T0.AddDays(3), "rejected")] },
        }, row);
    }

    [Fact]
    public async Task A_full_update_from_stale_memory_keeps_a_token_refreshed_meanwhile_and_a_later_rate_limit()
    {
        var old = FullAccount() with { TokenStatus = null, TokenStatusReason = null, RateLimitedUntil = null };
        await Store.AddAccountAsync(old, Ct);
        var refreshed = old with { AccessToken = "at-2", RefreshToken = "rt-2", ExpiresAt = old.ExpiresAt!.Value.AddHours(1), RateLimitedUntil = T0.AddHours(9) };
        Assert.True(await Store.UpdateAccountAsync(refreshed, Ct));

        // A replica that still holds the old token pauses the account.
        Assert.True(await Store.UpdateAccountAsync(old with { Paused = true, TokenStatus = "refresh_failed" }, Ct));

        Assert.Equal(refreshed with { Paused = true }, Assert.Single(await Store.GetAccountsAsync(Ct)));

        // A token that expires later (a new sign-in) replaces it as usual.
        var signedIn = refreshed with { AccessToken = "at-3", RefreshToken = "rt-3", ExpiresAt = refreshed.ExpiresAt!.Value.AddDays(1) };
        Assert.True(await Store.UpdateAccountAsync(signedIn, Ct));
        Assert.Equal(signedIn, Assert.Single(await Store.GetAccountsAsync(Ct)));
    }

    [Fact]
    public void Schema_names_that_are_not_plain_identifiers_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = "Host=x", Schema = "Bad-Name" }));
        Assert.Throws<ArgumentException>(() => new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = "Host=x", Schema = "x\"; DROP" }));
        Assert.Throws<ArgumentException>(() => new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = "" }));
    }
}
