using Ccflare.Tests.Analytics;
using Npgsql;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// The hourly rollups always hold what aggregating the rows would give: after inserts, replaced rows,
/// retention, a reset, concurrent writers on the same hours, and a migration from a schema without them.
/// </summary>
public sealed class RollupTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private CancellationToken Ct => _timeout.Token;
    private string _connectionString = null!;
    private PostgreSqlStore _store = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("rollups");
        _store = NewStore();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _timeout.Dispose();
    }

    private PostgreSqlStore NewStore() => new(new PostgreSqlStorageOptions { ConnectionString = _connectionString, ListenForChanges = false });

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql.Replace("{s}", "public", StringComparison.Ordinal), connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Rows of either rollup that differ from aggregating the request rows afresh (0 when they agree), and the rollup rows there are.</summary>
    private async Task<(long Differences, long Rollups)> CompareAsync()
    {
        var groups = $"""
            SELECT {PostgreSqlRollups.HourOf("r.timestamp")} AS hour, coalesce(r.model, '') AS model, coalesce(r.account_used, '') AS account_used,
                coalesce(r.account_name, '') AS account_name, coalesce(r.provider, '') AS provider, coalesce(r.user_id, '') AS user_id, r.success,
                {PostgreSqlRollups.Sums()}
            FROM {"{s}"}.requests r GROUP BY 1, 2, 3, 4, 5, 6, 7
            """;
        var rollups = $"SELECT hour, model, account_used, account_name, provider, user_id, success, {PostgreSqlRollups.SumColumnList("x")} FROM {"{s}"}.request_rollups x";
        var buckets = """
            SELECT date_bin(interval '1 hour', r.timestamp, timestamptz '1970-01-01 00:00:00+00'), r.model, coalesce(r.user_id, ''), r.success,
                {s}.ccflare_latency_bucket(r.response_time_ms), count(*)
            FROM {s}.requests r WHERE r.model IS NOT NULL AND r.response_time_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5
            """;
        var histograms = """
            SELECT x.hour, x.model, x.user_id, x.success, array_lower(x.histogram, 1) + u.o::integer - 1, u.n::bigint
            FROM {s}.request_latency_rollups x CROSS JOIN LATERAL unnest(x.histogram) WITH ORDINALITY AS u(n, o) WHERE u.n > 0
            """;
        var differences = await ScalarAsync($"""
            SELECT (SELECT count(*) FROM (({groups}) EXCEPT ({rollups})) a) + (SELECT count(*) FROM (({rollups}) EXCEPT ({groups})) b)
                + (SELECT count(*) FROM (({buckets}) EXCEPT ({histograms})) c) + (SELECT count(*) FROM (({histograms}) EXCEPT ({buckets})) d)
                + (SELECT count(*) FROM {"{s}"}.request_latency_rollups x WHERE NOT EXISTS (SELECT 1 FROM unnest(x.histogram) AS u(n) WHERE u.n > 0));
            """);
        return (differences, await ScalarAsync("SELECT count(*) FROM {s}.request_rollups;"));
    }

    [Fact]
    public async Task Rollups_follow_inserts_replaced_rows_retention_and_reset()
    {
        var rows = AggregateTests.Generated();
        await _store.WriteRequestsAsync(rows, Ct);
        var (differences, rollups) = await CompareAsync();
        Assert.Equal(0, differences);
        Assert.True(rollups > 100, $"{rollups} rollup rows");

        // Written again with other values: new extremes, other hours, other keys, some losing their model.
        var replaced = rows.Take(300).Select((row, i) => row with
        {
            Timestamp = row.Timestamp.AddMinutes(97),
            OutputTokensPerSecond = i % 3 == 0 ? 1000 + i : null,
            ResponseTimeMs = i % 2 == 0 ? 10_000 + i : row.ResponseTimeMs,
            Model = i % 5 == 0 ? null : "replacement-model",
            TotalTokens = 7,
        }).ToList();
        await _store.WriteRequestsAsync(replaced, Ct);
        Assert.Equal(0, (await CompareAsync()).Differences);

        // Retention removes rows in batches; hours it empties disappear, the hour it cuts through keeps the rest.
        var cutoff = AnalyticsDataSet.Now.AddDays(-20).AddMinutes(-30);
        var deleted = await _store.DeleteRequestsAsync(cutoff, Ct);
        Assert.True(deleted > 500, $"{deleted} deleted");
        Assert.Equal(0, (await CompareAsync()).Differences);
        Assert.Equal(0, await ScalarAsync($"SELECT count(*) FROM {{s}}.request_rollups WHERE hour < '{cutoff.AddHours(-1):O}';"));

        await _store.DeleteRequestsAsync(null, Ct);
        Assert.Equal((0, 0), await CompareAsync());
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM {s}.request_latency_rollups;"));
    }

    [Fact]
    public async Task Concurrent_writers_on_the_same_hours_neither_deadlock_nor_lose_counts()
    {
        await using var other = NewStore();
        await other.InitializeAsync(Ct);
        var start = AnalyticsDataSet.Now.AddHours(-2);
        string[] models = ["claude-sonnet-4-5", "gpt-5"];
        string[] accounts = ["a1", "b1", "g1"];
        var writers = Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var store = writer % 2 == 0 ? _store : other;
            for (var batch = 0; batch < 15; batch++)
            {
                // Every batch touches the same keys, in an order that differs between writers.
                var records = Enumerable.Range(0, 40).Select(i => new RequestRecord
                {
                    Id = $"w{writer}-b{batch}-{i}",
                    Timestamp = start.AddMinutes((i * 7 + writer * 13) % 120),
                    Method = "POST",
                    Path = "/v1/messages",
                    Model = models[(i + writer) % models.Length],
                    AccountUsed = accounts[(i + batch) % accounts.Length],
                    StatusCode = i % 9 == 0 ? 429 : 200,
                    ResponseTimeMs = 100 + i * 11,
                    TotalTokens = i,
                    OutputTokensPerSecond = i % 4 == 0 ? null : i,
                }).ToList();
                await store.WriteRequestsAsync(records, Ct);
            }
        }, Ct)).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal(8 * 15 * 40, await ScalarAsync("SELECT sum(requests) FROM {s}.request_rollups;"));
        Assert.Equal(0, (await CompareAsync()).Differences);
    }

    [Fact]
    public async Task Migrating_a_schema_without_rollups_fills_them_from_the_stored_rows()
    {
        await _store.WriteRequestsAsync(AggregateTests.Generated(), Ct);
        await ScalarAsync("""
            DROP TABLE {s}.request_rollups, {s}.request_latency_rollups;
            DROP FUNCTION {s}.ccflare_rollup_inserted, {s}.ccflare_rollup_updated, {s}.ccflare_rollup_deleted, {s}.ccflare_rollup_truncated CASCADE;
            DROP FUNCTION {s}.ccflare_histogram_step, {s}.ccflare_histogram_merge, {s}.ccflare_latency_bucket CASCADE;
            UPDATE {s}.ccflare_schema_version SET version = 1;
            SELECT 0;
            """);

        await using var upgraded = NewStore();
        await upgraded.InitializeAsync(Ct);

        Assert.Equal(PostgreSqlSchema.LatestVersion, await ScalarAsync("SELECT version FROM {s}.ccflare_schema_version;"));
        var (differences, rollups) = await CompareAsync();
        Assert.Equal(0, differences);
        Assert.True(rollups > 100, $"{rollups} rollup rows");
    }

    [Fact]
    public async Task Groups_of_a_range_with_both_ends_inside_hours_count_exactly_its_rows()
    {
        await _store.WriteRequestsAsync(AggregateTests.Generated(), Ct);
        var query = new RequestQuery
        {
            From = AnalyticsDataSet.Now.AddDays(-9).AddMinutes(-17),
            To = AnalyticsDataSet.Now.AddDays(-2).AddMinutes(-41),
            Status = RequestStatusFilter.Success,
        };
        long rows = 0, tokens = 0;
        await foreach (var row in _store.QueryRequestsAsync(query, Ct))
        {
            rows++;
            tokens += row.TotalTokens ?? 0;
        }
        long groupRows = 0, groupTokens = 0;
        await foreach (var group in _store.AggregateRequestsAsync(query, TimeSpan.FromHours(1), Ct))
        {
            Assert.True(group.Success);
            groupRows += group.Requests;
            groupTokens += group.TotalTokens;
        }

        Assert.True(rows > 100, $"{rows} rows");
        Assert.Equal((rows, tokens), (groupRows, groupTokens));
    }
}
