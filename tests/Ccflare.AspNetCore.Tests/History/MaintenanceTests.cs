using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Retention;
using Ccflare.Storage;
using Ccflare.Tests.Analytics;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.History;

/// <summary>Stats, analytics over HTTP, retention, cleanup, compaction and bad input.</summary>
public sealed class MaintenanceTests
{
    private static RequestRecord Row(string id, DateTimeOffset timestamp, bool payload = true) => new()
    {
        Id = id,
        Timestamp = timestamp,
        Method = "POST",
        Path = "/v1/anthropic/v1/messages",
        StatusCode = 200,
        Model = "claude-sonnet-4-5",
        Payload = payload ? new RequestPayload { RequestBody = [1, 2, 3] } : null,
    };

    private static async Task<(CcflareTestHost Host, ICcflareStore Store)> StartAsync(FakeTimeProvider time, InMemoryStore? shared = null)
    {
        var store = shared ?? new InMemoryStore();
        var host = await CcflareTestHost.StartAsync(time: time, build: b => b.Services.AddSingleton<ICcflareStore>(store));
        // The start-up retention pass runs in the background; rows a test writes must not race it.
        var retention = host.Services.GetRequiredService<RetentionService>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (retention.Passes == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.True(retention.Passes > 0, "The start-up retention pass did not run.");
        return (host, store);
    }

    [Fact]
    public async Task Stats_summarise_all_history_and_reset_clears_it()
    {
        var time = new FakeTimeProvider(AnalyticsDataSet.Now);
        var (host, store) = await StartAsync(time);
        await using var _ = host;
        await store.WriteRequestsAsync(AnalyticsDataSet.Rows(gammaNameInRecord: true), default);

        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/api/stats");

        Assert.Equal(7, stats.Long("totalRequests"));
        Assert.Equal(71.43, stats.Double("successRate"));
        Assert.Equal(304.29, stats.Double("avgResponseTime"));
        Assert.Equal(1100, stats.Long("totalTokens"));
        Assert.Equal(0.0361m, stats.Decimal("totalCostUsd"));
        Assert.Equal(23, stats.Double("avgTokensPerSecond"));
        Assert.Equal(0, stats.Long("activeAccounts"));
        var top = stats.GetProperty("topModels").EnumerateArray().Select(m => (m.Str("model"), m.Long("count"))).ToList();
        Assert.Equal([("claude-sonnet-4-5", 3L), ("gpt-5", 3L), ("claude-haiku-4-5", 1L)], top);
        Assert.Equal(0, stats.GetProperty("writeQueue").Long("droppedRows"));

        using var reset = await host.Client.PostAsync("/api/stats/reset", null);
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var after = await host.Client.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.Equal(0, after.Long("totalRequests"));
        Assert.Equal(0, after.Double("successRate"));
        Assert.Empty(after.GetProperty("topModels").EnumerateArray());
    }

    [Fact]
    public async Task Analytics_endpoint_serves_the_calculator_with_the_injected_clock()
    {
        var time = new FakeTimeProvider(AnalyticsDataSet.Now);
        var (host, store) = await StartAsync(time);
        await using var _ = host;
        await store.WriteRequestsAsync(AnalyticsDataSet.Rows(gammaNameInRecord: true), default);

        var result = await host.Client.GetFromJsonAsync<JsonElement>("/api/analytics?range=1h&mode=cumulative&accounts=alpha,beta,gamma");

        var meta = result.GetProperty("meta");
        Assert.Equal("1h", meta.Str("range"));
        Assert.Equal("1m", meta.Str("bucket"));
        Assert.True(meta.GetProperty("cumulative").GetBoolean());
        var totals = result.GetProperty("totals");
        Assert.Equal(6, totals.Long("totalRequests"));
        Assert.Equal(66.67, totals.Double("successRate"));
        Assert.Equal(0.036m, totals.Decimal("totalCostUsd"));
        var series = result.GetProperty("timeSeries").EnumerateArray().ToList();
        Assert.Equal([2L, 4, 5, 6], series.Select(p => p.Long("requests")!.Value));
        Assert.Equal(AnalyticsDataSet.Now.AddMinutes(-50).ToUnixTimeMilliseconds(), series[0].Long("ts"));
        Assert.Equal(60, series[0].Double("cacheHitRate"));
        Assert.Equal(410, result.GetProperty("tokenBreakdown").Long("inputTokens"));
        Assert.Equal("gpt-5", result.GetProperty("modelDistribution")[0].Str("model"));
        Assert.Equal(33.33, result.GetProperty("accountPerformance")[0].Double("successRate"));
        Assert.Equal(0.025m, result.GetProperty("costByModel")[0].Decimal("costUsd"));
        var perf = result.GetProperty("modelPerformance")[0];
        Assert.Equal(400, perf.Double("p95ResponseTime"));
        Assert.Equal(216.67, perf.Double("avgResponseTime"));
        Assert.Equal(20, perf.Double("minTokensPerSecond"));
        Assert.Equal(30, perf.Double("maxTokensPerSecond"));

        // Moving the clock moves the window.
        time.Advance(TimeSpan.FromMinutes(30));
        var later = await host.Client.GetFromJsonAsync<JsonElement>("/api/analytics?range=1h");
        Assert.Equal(4, later.GetProperty("totals").Long("totalRequests")); // 11:30:00 onwards: r3, r4, r7, r5
    }

    [Theory]
    [InlineData("/api/analytics?range=2h")]
    [InlineData("/api/analytics?status=maybe")]
    [InlineData("/api/analytics?mode=total")]
    [InlineData("/api/analytics?modelBreakdown=1x")]
    [InlineData("/api/requests?limit=0")]
    [InlineData("/api/requests?limit=abc")]
    [InlineData("/api/requests?limit=100000")]
    [InlineData("/api/requests/detail?limit=-1")]
    public async Task Bad_query_parameters_get_400_json(string url)
    {
        await using var host = await CcflareTestHost.StartAsync();

        using var response = await host.Client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await HistoryApi.JsonAsync(response);
        Assert.False(string.IsNullOrEmpty(body.Str("error")));
    }

    [Theory]
    [InlineData("""{"payloadDays":0}""")]
    [InlineData("""{"requestDays":3651}""")]
    [InlineData("""{"payloadDays":-3,"requestDays":30}""")]
    [InlineData("""{"payloadDays":"seven"}""")]
    [InlineData("""{"payloadDays":1.5}""")]
    [InlineData("""{}""")]
    [InlineData("""not json""")]
    [InlineData("")]
    public async Task Bad_retention_values_get_400_json_and_change_nothing(string body)
    {
        await using var host = await CcflareTestHost.StartAsync();

        using var response = await host.Client.PostAsync("/api/config/retention", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await HistoryApi.JsonAsync(response)).Str("error")));
        var current = await host.Client.GetFromJsonAsync<JsonElement>("/api/config/retention");
        Assert.Equal(7, current.Long("payloadDays"));
        Assert.Equal(30, current.Long("requestDays"));
    }

    [Fact]
    public async Task Retention_settings_are_validated_persisted_and_reloaded()
    {
        var time = new FakeTimeProvider(AnalyticsDataSet.Now);
        var shared = new InMemoryStore();
        var (host, store) = await StartAsync(time, shared);
        await using (host)
        {
            var initial = await host.Client.GetFromJsonAsync<JsonElement>("/api/config/retention");
            Assert.Equal(7, initial.Long("payloadDays"));
            Assert.Equal(30, initial.Long("requestDays"));

            using var set = await host.Client.PostAsJsonAsync("/api/config/retention", new { payloadDays = 2, requestDays = 14 });
            var updated = await HistoryApi.JsonAsync(set);
            Assert.Equal(2, updated.Long("payloadDays"));
            Assert.Equal(14, updated.Long("requestDays"));

            using var partial = await host.Client.PostAsJsonAsync("/api/config/retention", new { requestDays = 20 });
            Assert.Equal(2, (await HistoryApi.JsonAsync(partial)).Long("payloadDays"));
        }
        var settings = await store.GetSettingsAsync(default);
        Assert.Equal("2", settings[RetentionSettings.PayloadDaysKey]);
        Assert.Equal("20", settings[RetentionSettings.RequestDaysKey]);

        var (restarted, _) = await StartAsync(time, shared);
        await using (restarted)
        {
            var reloaded = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/config/retention");
            Assert.Equal(2, reloaded.Long("payloadDays"));
            Assert.Equal(20, reloaded.Long("requestDays"));
        }
    }

    [Fact]
    public async Task Cleanup_applies_retention_now_and_returns_counts()
    {
        var time = new FakeTimeProvider(AnalyticsDataSet.Now);
        var (host, store) = await StartAsync(time);
        await using var _ = host;
        var now = time.GetUtcNow();
        await store.WriteRequestsAsync([Row("old", now.AddDays(-40)), Row("mid", now.AddDays(-10)), Row("new", now.AddDays(-1)), Row("bare", now.AddDays(-8), payload: false)], default);

        using var response = await host.Client.PostAsync("/api/maintenance/cleanup", null);
        var result = await HistoryApi.JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, result.Long("removedRequests"));
        Assert.Equal(2, result.Long("removedPayloads")); // old's and mid's; bare had none
        Assert.Null(await store.GetRequestAsync("old", default));
        Assert.Null((await store.GetRequestAsync("mid", default))!.Payload);
        Assert.NotNull((await store.GetRequestAsync("new", default))!.Payload);

        using var compact = await host.Client.PostAsync("/api/maintenance/compact", null);
        Assert.Equal(HttpStatusCode.OK, compact.StatusCode);
        Assert.True((await HistoryApi.JsonAsync(compact)).GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task Background_retention_runs_on_the_injected_clock()
    {
        var time = new FakeTimeProvider(AnalyticsDataSet.Now);
        var (host, store) = await StartAsync(time);
        await using var _ = host;
        var retention = host.Services.GetRequiredService<RetentionService>();
        await WaitUntilAsync(() => retention.Passes >= 1); // the pass at start-up
        var now = time.GetUtcNow();
        await store.WriteRequestsAsync([Row("r-3d", now.AddDays(-3)), Row("r-1h", now.AddHours(-1))], default);
        using (await host.Client.PostAsJsonAsync("/api/config/retention", new { payloadDays = 1, requestDays = 2 }))
        {
        }

        time.Advance(TimeSpan.FromMinutes(59));
        await Task.Delay(100);
        Assert.Equal(1, retention.Passes); // not yet: the interval is an hour
        Assert.NotNull(await store.GetRequestAsync("r-3d", default));

        time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntilAsync(() => retention.Passes >= 2);
        Assert.Null(await store.GetRequestAsync("r-3d", default));
        Assert.NotNull((await store.GetRequestAsync("r-1h", default))!.Payload);

        time.Advance(TimeSpan.FromDays(1));
        await WaitUntilAsync(() => retention.Passes >= 3);
        Assert.Null((await store.GetRequestAsync("r-1h", default))!.Payload);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }
        Assert.True(condition());
    }
}
