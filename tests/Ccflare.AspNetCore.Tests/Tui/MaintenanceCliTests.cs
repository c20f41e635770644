using System.Text.Json;
using Ccflare.Storage;
using Ccflare.StandaloneServer;
using Ccflare.StandaloneServer.Cli;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Tui;

/// <summary>The maintenance commands against a seeded store (numbers that a persistent store would hold across runs).</summary>
public sealed class MaintenanceCliTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-maint-");
    private readonly FakeTimeProvider _time = new(Now);
    private readonly InMemoryStore _store = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dataDir.Delete(recursive: true);
    }

    private StandaloneSettings Settings(string storage = "memory") => new() { DataDirectory = _dataDir.FullName, Storage = storage };

    private async Task SeedAsync()
    {
        await _store.AddAccountAsync(new Account
        {
            Id = "a1", Name = "one", Provider = "anthropic", ApiKey = "sk-ant-one-secret", CreatedAt = Now.AddDays(-3),
            RequestCount = 2, TotalRequests = 5, SessionStart = Now.AddMinutes(-5), SessionRequestCount = 2,
        }, default);
        await _store.AddAccountAsync(new Account { Id = "a2", Name = "two", Provider = "openai", ApiKey = "sk-two-secret", CreatedAt = Now.AddDays(-2) }, default);
        await _store.WriteRequestsAsync(
        [
            new RequestRecord { Id = "r3", Timestamp = Now.AddHours(-48), Method = "POST", Path = "/v1/anthropic/v1/messages", AccountUsed = "a1", StatusCode = 500, ErrorMessage = "upstream failed", ResponseTimeMs = 200, Model = "claude-haiku-4-5" },
            new RequestRecord { Id = "r2", Timestamp = Now.AddHours(-2), Method = "POST", Path = "/v1/anthropic/v1/messages", AccountUsed = "a1", StatusCode = 200, ResponseTimeMs = 300, Model = "claude-sonnet-4-5", TotalTokens = 50, CostUsd = 0.005m, OutputTokensPerSecond = 30 },
            new RequestRecord { Id = "r1", Timestamp = Now.AddHours(-1), Method = "POST", Path = "/v1/anthropic/v1/messages", AccountUsed = "a1", StatusCode = 200, ResponseTimeMs = 100, Model = "claude-sonnet-4-5", TotalTokens = 100, CostUsd = 0.01m, OutputTokensPerSecond = 50 },
        ], default);
    }

    private async Task<(int Exit, string Output)> RunAsync(string command, string storage = "memory")
    {
        using var stdout = new StringWriter();
        var exit = await MaintenanceCli.RunCommandAsync(command, Settings(storage), _store, _time, stdout, default);
        return (exit, stdout.ToString());
    }

    [Fact]
    public async Task Stats_aggregates_the_whole_history()
    {
        await SeedAsync();

        var (exit, output) = await RunAsync(MaintenanceCli.Stats);

        Assert.Equal(0, exit);
        var stats = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3, stats.GetProperty("totalRequests").GetInt64());
        Assert.Equal(66.7, stats.GetProperty("successRate").GetDouble());
        Assert.Equal(1, stats.GetProperty("activeAccounts").GetInt32());
        Assert.Equal(200, stats.GetProperty("avgResponseTime").GetDouble());
        Assert.Equal(150, stats.GetProperty("totalTokens").GetInt64());
        Assert.Equal(0.015m, stats.GetProperty("totalCostUsd").GetDecimal());
        Assert.Equal(40, stats.GetProperty("avgTokensPerSecond").GetDouble());
        var models = stats.GetProperty("topModels").EnumerateArray().Select(m => (m.GetProperty("model").GetString(), m.GetProperty("count").GetInt64())).ToList();
        Assert.Equal([("claude-sonnet-4-5", 2L), ("claude-haiku-4-5", 1L)], models);
        var one = stats.GetProperty("accounts")[0];
        Assert.Equal("one", one.GetProperty("name").GetString());
        Assert.Equal(2, one.GetProperty("requestCount").GetInt64());
        Assert.Equal(5, one.GetProperty("totalRequests").GetInt64());
        Assert.Equal(66.7, one.GetProperty("successRate").GetDouble());
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("accounts")[1].GetProperty("successRate").ValueKind);
        Assert.DoesNotContain("secret", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reset_stats_zeroes_counters_and_sessions_but_keeps_totals_and_history()
    {
        await SeedAsync();

        var (exit, output) = await RunAsync(MaintenanceCli.ResetStats);

        Assert.Equal(0, exit);
        Assert.Contains("cleared for 2 account(s)", output);
        var one = (await _store.GetAccountsAsync(default))[0];
        Assert.Equal(0, one.RequestCount);
        Assert.Equal(0, one.SessionRequestCount);
        Assert.Null(one.SessionStart);
        Assert.Equal(5, one.TotalRequests);
        Assert.Equal("sk-ant-one-secret", one.ApiKey);
        Assert.Equal(3, (await _store.GetRecentRequestsAsync(10, false, default)).Count);
    }

    [Fact]
    public async Task Clear_history_deletes_every_request()
    {
        await SeedAsync();

        var (exit, output) = await RunAsync(MaintenanceCli.ClearHistory);

        Assert.Equal(0, exit);
        Assert.Contains("Request history cleared: 3 request(s) deleted.", output);
        Assert.Empty(await _store.GetRecentRequestsAsync(10, false, default));
        Assert.Equal(2, (await _store.GetAccountsAsync(default)).Count);
    }

    [Fact]
    public async Task Analyze_reports_files_counts_and_query_timings()
    {
        await SeedAsync();
        await File.WriteAllTextAsync(Path.Combine(_dataDir.FullName, "ccflare.json"), """{"port":8080}""");

        var (exit, output) = await RunAsync(MaintenanceCli.Analyze);

        Assert.Equal(0, exit);
        Assert.Contains("store: InMemoryStore", output);
        Assert.Contains("keeps data in memory only", output);
        Assert.Matches(@"ccflare\.json\s+13 B", output);
        Assert.Matches(@"accounts\s+2\n", output.ReplaceLineEndings("\n"));
        Assert.Matches(@"requests\s+3\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("history spans 2026-04-29 12:00:00Z .. 2026-05-01 11:00:00Z", output);
        Assert.Matches(@"all requests, streamed \(QueryRequestsAsync\)\s+[0-9.]+ ms\s+\(3 rows\)", output);
        Assert.Matches(@"recent 50 \(GetRecentRequestsAsync\)\s+[0-9.]+ ms\s+\(3 rows\)", output);
        Assert.Matches(@"last 24h \(QueryRequestsAsync From\)\s+[0-9.]+ ms\s+\(2 rows\)", output);
        Assert.Matches(@"errors only \(QueryRequestsAsync Status\)\s+[0-9.]+ ms\s+\(1 rows\)", output);
        Assert.DoesNotContain("SQLite", output);
    }

    [Fact]
    public async Task Analyze_reads_sqlite_pages_and_indexes_from_the_database_file()
    {
        var path = Path.Combine(_dataDir.FullName, "ccflare.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE requests (id TEXT PRIMARY KEY, timestamp INTEGER); CREATE INDEX idx_requests_timestamp ON requests(timestamp);";
            await command.ExecuteNonQueryAsync();
        }

        var (exit, output) = await RunAsync(MaintenanceCli.Analyze, storage: "sqlite");

        Assert.Equal(0, exit);
        Assert.Contains("SQLite", output);
        Assert.Matches(@"journal_mode\s+wal", output);
        Assert.Matches(@"page_size\s+\d+", output);
        Assert.Contains("table  requests (requests)", output);
        Assert.Contains("index  idx_requests_timestamp (requests)", output);
        Assert.Contains("ccflare.db", output);
    }

    [Fact]
    public async Task No_maintenance_flag_means_not_handled()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await MaintenanceCli.TryRunAsync(Settings() with { RemainingArgs = ["--list"] }, stdout, stderr);

        Assert.Null(exit);
        Assert.Equal("", stdout.ToString() + stderr.ToString());
    }
}
