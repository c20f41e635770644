using Ccflare.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Ccflare.Storage.Testing;
using static Ccflare.Storage.Testing.StoreTestData;

namespace Ccflare.Storage.Tests;

/// <summary>The contract against the SQLite store, plus what is specific to its file format.</summary>
public sealed class SqliteStoreTests : FileStoreContractTests
{
    protected override string DatabaseFileName => "ccflare.db";

    protected override ICcflareStore CreateStore(string directory) =>
        new SqliteStore(new SqliteStorageOptions { DatabasePath = Path.Combine(directory, DatabaseFileName) });

    private SqliteConnection OpenRaw() => OpenRaw(Directory);

    /// <summary>A plain connection (no pooling, so the file is released on dispose) to the database file in <paramref name="directory"/>.</summary>
    private SqliteConnection OpenRaw(string directory)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, DatabaseFileName),
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Opens a store on the file in <paramref name="directory"/>, which must migrate and accept a write, and closes it.</summary>
    private async Task AssertStoreOpensAndWritesAsync(string directory)
    {
        var store = CreateStore(directory);
        try
        {
            await store.InitializeAsync(Ct);
            Assert.True(await store.AddAccountAsync(MinimalAccount("a1", "alpha", T0), Ct));
        }
        finally
        {
            await DisposeStoreAsync(store);
        }
    }

    protected override void SetFileVersion(int version)
    {
        using var connection = OpenRaw();
        Scalar(connection, $"PRAGMA user_version = {version};");
    }

    /// <summary>The WAL is checkpointed and emptied.</summary>
    protected override void AssertNothingPendingBesideTheFile()
    {
        var wal = new FileInfo(Path.Combine(Directory, DatabaseFileName + "-wal"));
        Assert.True(!wal.Exists || wal.Length == 0, $"WAL has {wal.Length} bytes after compaction");
    }

    protected override void UseStorage(ICcflareBuilder builder, string path) => builder.UseSqliteStorage(path);

    protected override string DatabasePathOf(ICcflareStore store) => Assert.IsType<SqliteStore>(store).DatabasePath;

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<string> Columns(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}');";
        using var reader = command.ExecuteReader();
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add(reader.GetString(0));
        }
        return columns;
    }

    [Fact]
    public void File_is_in_wal_mode_at_the_latest_schema_version()
    {
        using var connection = OpenRaw();

        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode;"));
        Assert.Equal((long)SqliteSchema.LatestVersion, Scalar(connection, "PRAGMA user_version;"));
    }

    [Fact]
    public void New_files_use_8_KiB_pages()
    {
        using var connection = OpenRaw();

        Assert.Equal((long)SqliteSchema.PageSize, Scalar(connection, "PRAGMA page_size;"));
    }

    [Fact]
    public async Task An_existing_file_keeps_its_page_size()
    {
        var directory = Path.Combine(Directory, "small-pages");
        System.IO.Directory.CreateDirectory(directory);
        using (var connection = OpenRaw(directory))
        {
            Scalar(connection, "PRAGMA page_size = 4096;");
            Scalar(connection, "CREATE TABLE older_tool (x INTEGER);");
        }

        await AssertStoreOpensAndWritesAsync(directory);
        using (var connection = OpenRaw(directory))
        {
            Assert.Equal(4096L, Scalar(connection, "PRAGMA page_size;"));
            Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode;"));
        }
    }

    [Fact]
    public void Tables_have_ccflares_column_names()
    {
        using var connection = OpenRaw();

        // Spec sections 3, 5, 6 and 8.
        Assert.Superset(
            new HashSet<string>(
            [
                "id", "name", "provider", "auth_method", "base_url", "api_key", "refresh_token", "access_token", "expires_at",
                "created_at", "last_used", "request_count", "total_requests", "weight", "rate_limited_until", "session_start",
                "session_request_count", "paused", "rate_limit_reset", "rate_limit_status", "rate_limit_remaining",
                "token_status", "token_status_reason",
            ]),
            new HashSet<string>(Columns(connection, "accounts")));
        Assert.Superset(
            new HashSet<string>(
            [
                "id", "timestamp", "method", "path", "provider", "upstream_path", "account_used", "status_code", "error_message",
                "response_time_ms", "failover_attempts", "model", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
                "output_tokens_per_second", "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                "output_tokens", "reasoning_tokens", "response_id", "previous_response_id", "response_chain_id",
                "client_session_id", "ttft_ms", "proxy_overhead_ms", "upstream_ttfb_ms", "streaming_duration_ms", "user_id",
            ]),
            new HashSet<string>(Columns(connection, "requests")));
        Assert.Equal(["id", "provider", "auth_method", "account_name", "state_json", "created_at", "expires_at"], Columns(connection, "auth_sessions"));
        Assert.Equal(["id", "name", "access_key_hash", "created_at"], Columns(connection, "users"));
        Assert.Equal(["key", "value"], Columns(connection, "settings"));
        Assert.Contains("accounts_attempted", Columns(connection, "request_payloads"));
    }

    [Fact]
    public void Time_range_queries_use_the_indexes()
    {
        using var connection = OpenRaw();

        static string Plan(SqliteConnection connection, string where)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN SELECT id FROM requests WHERE " + where + ";";
            using var reader = command.ExecuteReader();
            var plan = "";
            while (reader.Read())
            {
                plan += reader.GetString(3) + "\n";
            }
            return plan;
        }

        Assert.Contains("idx_requests_timestamp", Plan(connection, "timestamp >= 1 AND timestamp < 2"));
        Assert.Contains("idx_requests_account_used_timestamp", Plan(connection, "account_used = 'a' AND timestamp >= 1"));
        Assert.Contains("idx_requests_model_timestamp", Plan(connection, "model = 'm' AND timestamp >= 1"));
        Assert.Contains("idx_requests_user_id_timestamp", Plan(connection, "user_id = 'u' AND timestamp >= 1"));
    }

    [Fact]
    public async Task Instants_are_stored_as_epoch_milliseconds()
    {
        await Store.WriteRequestsAsync([MinimalRecord("r1", T0.AddMilliseconds(5))], Ct);
        await Store.AddAccountAsync(MinimalAccount("a1", "alpha", T0), Ct);

        using var connection = OpenRaw();
        Assert.Equal(T0.ToUnixTimeMilliseconds() + 5, Scalar(connection, "SELECT timestamp FROM requests WHERE id = 'r1';"));
        Assert.Equal(T0.ToUnixTimeMilliseconds(), Scalar(connection, "SELECT created_at FROM accounts WHERE id = 'a1';"));
    }

    [Fact]
    public async Task Initializing_an_up_to_date_file_again_applies_nothing_and_keeps_data()
    {
        await Store.SetSettingAsync("kept", "yes", Ct);

        // A second InitializeAsync on the same store and a fresh store on the same file: neither may re-run migration 1
        // (it would fail on CREATE TABLE) nor touch the rows.
        await Store.InitializeAsync(Ct);
        await DisposeStoreAsync(Store);
        Store = CreateStore(Directory);
        await Store.InitializeAsync(Ct);

        Assert.Equal("yes", (await Store.GetSettingsAsync(Ct))["kept"]);
        using var connection = OpenRaw();
        Assert.Equal((long)SqliteSchema.LatestVersion, Scalar(connection, "PRAGMA user_version;"));
    }

    [Fact]
    public async Task A_version_1_file_gains_priority_and_usage_and_keeps_its_accounts()
    {
        var directory = Path.Combine(Directory, "v1");
        System.IO.Directory.CreateDirectory(directory);
        using (var connection = OpenRaw(directory))
        {
            Scalar(connection, SqliteSchema.Migrations[0]);
            Scalar(connection, "PRAGMA user_version = 1;");
            Scalar(connection, "INSERT INTO accounts (id, name, provider, created_at) VALUES ('old', 'old', 'claude-code', 0);");
        }

        var store = CreateStore(directory);
        try
        {
            await store.InitializeAsync(Ct);
            var old = Assert.Single(await store.GetAccountsAsync(Ct));
            Assert.Equal(0, old.Priority);
            Assert.Null(old.Usage);
            Assert.True(await store.UpdateAccountAsync(old with { Priority = 2, Usage = FullAccount().Usage }, Ct));
            Assert.Equal(old with { Priority = 2, Usage = FullAccount().Usage }, Assert.Single(await store.GetAccountsAsync(Ct)));
        }
        finally
        {
            await DisposeStoreAsync(store);
        }
    }

    [Fact]
    public async Task An_existing_empty_database_file_is_migrated_from_version_zero()
    {
        var directory = Path.Combine(Directory, "empty");
        System.IO.Directory.CreateDirectory(directory);
        using (var connection = OpenRaw(directory))
        {
            Assert.Equal(0L, Scalar(connection, "PRAGMA user_version;"));
        }

        await AssertStoreOpensAndWritesAsync(directory);
    }

    [Fact]
    public async Task Payload_rows_cannot_exist_without_their_request()
    {
        await Store.WriteRequestsAsync([BatchRecord("r1", T0)], Ct);

        using var connection = OpenRaw();
        Scalar(connection, "PRAGMA foreign_keys = ON;");
        Assert.Throws<SqliteException>(() => Scalar(connection,
            "INSERT INTO request_payloads (id, request_headers, response_headers, accounts_attempted) VALUES ('ghost', '{}', '{}', '[]');"));
        Scalar(connection, "DELETE FROM requests WHERE id = 'r1';");
        Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM request_payloads;"));
    }

    [Fact]
    public void UseSqliteStorage_with_options_applies_them()
    {
        var services = new ServiceCollection();
        services.AddCcflare().UseSqliteStorage(o =>
        {
            o.DatabasePath = Path.Combine(Directory, "configured.db");
            o.BusyTimeout = TimeSpan.FromSeconds(1);
        });
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<SqliteStore>(provider.GetRequiredService<ICcflareStore>());
        Assert.Equal(Path.Combine(Directory, "configured.db"), store.DatabasePath);
    }
}
