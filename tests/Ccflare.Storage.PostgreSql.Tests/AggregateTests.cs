using System.Text.Json;
using System.Text.Json.Nodes;
using Ccflare.Analytics;
using Ccflare.Http;
using Ccflare.Tests.Analytics;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// The store's SQL aggregates (hourly rollups kept by triggers, GROUP BY buckets over the rows at the
/// edges) give exactly the analytics that streaming its rows through the calculator gives; the 95th
/// percentiles from the latency histograms are within 1% of the exact ones.
/// </summary>
public sealed class AggregateTests : IAsyncLifetime
{
    private static readonly Func<string, string?> Names = id => id == "g1" ? "gamma" : null;
    private PostgreSqlStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new PostgreSqlStore(new PostgreSqlStorageOptions { ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("aggregates") });
        await _store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>2,000 generated rows over 40 days ending at the data set's "now", with nulls, failures and users; values exact in binary so sums cannot differ by rounding.</summary>
    internal static List<RequestRecord> Generated()
    {
        var random = new Random(20261127);
        string?[] models = ["claude-sonnet-4-5", "gpt-5", "claude-haiku-4-5", null];
        string[] accounts = ["a1", "b1", "g1", "d1"];
        int?[] statuses = [200, 200, 200, 201, 429, 500, null];
        var rows = new List<RequestRecord>();
        for (var i = 0; i < 2000; i++)
        {
            var account = accounts[random.Next(accounts.Length)];
            long? input = random.Next(5) == 0 ? null : random.Next(0, 4000);
            rows.Add(new RequestRecord
            {
                Id = "gen-" + i,
                Timestamp = AnalyticsDataSet.Now.AddMilliseconds(-random.NextInt64(0, (long)TimeSpan.FromDays(40).TotalMilliseconds)),
                Method = "POST",
                Path = "/v1/test",
                AccountUsed = random.Next(20) == 0 ? null : account,
                AccountName = account switch { "a1" => "alpha", "b1" => "beta", "d1" => random.Next(2) == 0 ? "delta" : null, _ => null },
                StatusCode = statuses[random.Next(statuses.Length)],
                ResponseTimeMs = random.Next(10) == 0 ? null : random.Next(1, 5000),
                Model = models[random.Next(models.Length)],
                InputTokens = input,
                CacheReadInputTokens = input is null ? null : random.Next(0, 1000),
                CacheCreationInputTokens = input is null ? null : random.Next(0, 100),
                OutputTokens = input is null ? null : random.Next(0, 800),
                TotalTokens = input is null ? null : input + 500,
                CostUsd = input is null ? null : random.Next(0, 100000) / 10000m,
                OutputTokensPerSecond = random.Next(4) switch { 0 => null, 1 => 0, _ => random.Next(1, 400) / 2.0 },
                UserId = random.Next(3) == 0 ? "u" + random.Next(3) : null,
            });
        }
        return rows;
    }

    public static TheoryData<string> Queries => new()
    {
        "range=1h", "range=6h", "range=24h", "range=7d", "range=30d", "range=30d&mode=cumulative", "range=7d&modelBreakdown=true",
        "range=30d&status=error", "range=30d&status=success", "range=30d&models=gpt-5,claude-haiku-4-5", "range=30d&users=u1",
        "range=24h&modelBreakdown=true&mode=cumulative",
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Sql_groups_give_the_same_analytics_as_rows(string query)
    {
        await _store.WriteRequestsAsync([.. AnalyticsDataSet.Rows(), .. Generated()], CancellationToken.None);
        var request = AnalyticsRequest.Parse(new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query)), out var error);
        Assert.True(request is not null, error);
        Assert.True(AnalyticsCalculator.CanAggregateIn(_store, request!, out var aggregates));

        var rows = _store.QueryRequestsAsync(AnalyticsCalculator.ToQuery(request!, AnalyticsDataSet.Now), CancellationToken.None);
        var fromRows = await AnalyticsCalculator.ComputeAsync(rows, request!, AnalyticsDataSet.Now, Names, CancellationToken.None);
        var fromGroups = await AnalyticsCalculator.ComputeAsync(aggregates, request!, AnalyticsDataSet.Now, Names, CancellationToken.None);

        Assert.True(fromRows.Totals.TotalRequests > 0);
        AssertSameAnalytics(fromRows, fromGroups);
    }

    /// <summary>Equal JSON but for the p95 values, which must be within 1% (plus the 0.01 of rounding).</summary>
    internal static void AssertSameAnalytics(AnalyticsResult expected, AnalyticsResult actual)
    {
        var expectedJson = JsonSerializer.SerializeToNode(expected, CcflareJson.Options)!;
        var actualJson = JsonSerializer.SerializeToNode(actual, CcflareJson.Options)!;
        var expectedP95 = TakePercentiles(expectedJson);
        var actualP95 = TakePercentiles(actualJson);
        Assert.Equal(expectedJson.ToJsonString(), actualJson.ToJsonString());
        Assert.Equal(expectedP95.Count, actualP95.Count);
        for (var i = 0; i < expectedP95.Count; i++)
        {
            Assert.True(Math.Abs(expectedP95[i] - actualP95[i]) <= expectedP95[i] * 0.01 + 0.01, $"p95 {actualP95[i]} is not within 1% of {expectedP95[i]}");
        }
    }

    /// <summary>Removes every <c>p95ResponseTime</c> from <paramref name="node"/>, returning them in document order.</summary>
    private static List<double> TakePercentiles(JsonNode node)
    {
        var values = new List<double>();
        void Walk(JsonNode? current)
        {
            switch (current)
            {
                case JsonObject obj:
                    if (obj["p95ResponseTime"] is { } p95)
                    {
                        values.Add(p95.GetValue<double>());
                        obj.Remove("p95ResponseTime");
                    }
                    foreach (var (_, child) in obj)
                    {
                        Walk(child);
                    }
                    break;
                case JsonArray array:
                    foreach (var child in array)
                    {
                        Walk(child);
                    }
                    break;
            }
        }
        Walk(node);
        return values;
    }

    [Fact]
    public async Task Sql_groups_give_the_same_stats_as_rows_and_an_empty_store_gives_zeros()
    {
        var empty = await AnalyticsCalculator.StatsAsync(_store, Names, CancellationToken.None);
        Assert.Equal(0, empty.Totals.TotalRequests);
        Assert.Empty(empty.TopModels);

        await _store.WriteRequestsAsync([.. AnalyticsDataSet.Rows(), .. Generated()], CancellationToken.None);
        var fromRows = await AnalyticsCalculator.StatsAsync(_store.QueryRequestsAsync(new RequestQuery(), CancellationToken.None), Names, CancellationToken.None);
        var fromGroups = await AnalyticsCalculator.StatsAsync(_store, Names, CancellationToken.None);

        Assert.Equal(2007, fromGroups.Totals.TotalRequests);
        Assert.Equal(fromRows.Totals, fromGroups.Totals);
        Assert.Equal(fromRows.TopModels, fromGroups.TopModels);
    }
}
