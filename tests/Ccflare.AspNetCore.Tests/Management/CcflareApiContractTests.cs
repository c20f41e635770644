using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Tests.History;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Management;

/// <summary>
/// ccflare's management API, endpoint by endpoint and stream event by stream event, in the shapes ccflare's own
/// dashboard reads (field names, kinds, nesting, enum values, epoch-millisecond units, <c>data</c> envelopes),
/// on data recorded through the proxy. Runs once per store.
/// </summary>
public abstract class CcflareApiContractTests<TScenario>(TScenario scenario) : IClassFixture<TScenario> where TScenario : ContractScenario
{
    private HttpClient Api => scenario.Host.Client;

    private async Task<JsonElement> GetAsync(string path)
    {
        using var response = await Api.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await HistoryApi.JsonAsync(response);
    }

    [Fact]
    public async Task Stats_has_ccflares_totals_accounts_and_recent_errors()
    {
        var stats = await GetAsync("/api/stats");
        Shape.Has(stats, ("totalRequests", J.Number), ("successRate", J.Number), ("activeAccounts", J.Number), ("avgResponseTime", J.Number),
            ("totalTokens", J.Number), ("totalCostUsd", J.Number), ("avgTokensPerSecond", J.Number | J.Null), ("topModels", J.Array),
            ("accounts", J.Array), ("recentErrors", J.Array));
        Assert.Equal(6, stats.Long("totalRequests"));
        Assert.All(stats.GetProperty("topModels").EnumerateArray(), m => Shape.Has(m, ("model", J.String), ("count", J.Number)));
        var accounts = stats.GetProperty("accounts").EnumerateArray().ToList();
        Assert.All(accounts, a => Shape.Has(a, ("name", J.String), ("requestCount", J.Number), ("successRate", J.Number)));
        var openai = Assert.Single(accounts, a => a.Str("name") == "openai-1");
        Assert.Equal(4, openai.Long("requestCount"));
        Assert.Equal(75, openai.Double("successRate"));
        var error = Assert.Single(stats.GetProperty("recentErrors").EnumerateArray());
        Assert.Equal(JsonValueKind.String, error.ValueKind);
        Assert.Contains("500", error.GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analytics_totals_say_requests_and_break_down_by_provider()
    {
        var analytics = await GetAsync("/api/analytics?range=24h");
        Shape.Has(analytics, ("meta", J.Object), ("totals", J.Object), ("timeSeries", J.Array), ("tokenBreakdown", J.Object),
            ("modelDistribution", J.Array), ("accountPerformance", J.Array), ("costByModel", J.Array), ("modelPerformance", J.Array),
            ("providerBreakdown", J.Array));
        Shape.Has(analytics.GetProperty("meta"), ("range", J.String), ("bucket", J.String), ("cumulative", J.Bool));
        var totals = analytics.GetProperty("totals");
        Shape.Has(totals, ("requests", J.Number), ("successRate", J.Number), ("activeAccounts", J.Number), ("avgResponseTime", J.Number),
            ("totalTokens", J.Number), ("totalCostUsd", J.Number), ("avgTokensPerSecond", J.Number | J.Null));
        Assert.Equal(6, totals.Long("requests"));
        Assert.All(analytics.GetProperty("timeSeries").EnumerateArray(), p => Shape.Has(p, ("ts", J.Number), ("requests", J.Number), ("tokens", J.Number),
            ("costUsd", J.Number), ("successRate", J.Number), ("errorRate", J.Number), ("cacheHitRate", J.Number), ("avgResponseTime", J.Number),
            ("avgTokensPerSecond", J.Number | J.Null)));
        Shape.Has(analytics.GetProperty("tokenBreakdown"), ("inputTokens", J.Number), ("cacheReadInputTokens", J.Number),
            ("cacheCreationInputTokens", J.Number), ("outputTokens", J.Number));
        Assert.All(analytics.GetProperty("accountPerformance").EnumerateArray(), a => Shape.Has(a, ("name", J.String), ("requests", J.Number), ("successRate", J.Number)));
        Assert.All(analytics.GetProperty("costByModel").EnumerateArray(), c => Shape.Has(c, ("model", J.String), ("costUsd", J.Number), ("requests", J.Number), ("totalTokens", J.Number)));
        Assert.All(analytics.GetProperty("modelPerformance").EnumerateArray(), m => Shape.Has(m, ("model", J.String), ("avgResponseTime", J.Number),
            ("p95ResponseTime", J.Number), ("errorRate", J.Number), ("avgTokensPerSecond", J.Number | J.Null), ("minTokensPerSecond", J.Number | J.Null),
            ("maxTokensPerSecond", J.Number | J.Null)));

        var providers = analytics.GetProperty("providerBreakdown").EnumerateArray().ToList();
        Assert.All(providers, p => Shape.Has(p, ("provider", J.String), ("requests", J.Number), ("successRate", J.Number), ("totalTokens", J.Number), ("totalCostUsd", J.Number)));
        Assert.Equal(["openai", "anthropic"], providers.Select(p => p.Str("provider")!));
        Assert.Equal(4, providers[0].Long("requests"));
        Assert.Equal(75, providers[0].Double("successRate"));
        Assert.Equal(2, providers[1].Long("requests"));
        Assert.True(providers[1].Long("totalTokens") > 0);

        var onlyAnthropic = await GetAsync("/api/analytics?range=24h&providers=anthropic");
        Assert.Equal(2, onlyAnthropic.GetProperty("totals").Long("requests"));
        Assert.Equal("anthropic", Assert.Single(onlyAnthropic.GetProperty("providerBreakdown").EnumerateArray()).Str("provider"));
        var both = await GetAsync("/api/analytics?range=24h&providers=anthropic,openai");
        Assert.Equal(6, both.GetProperty("totals").Long("requests"));
    }

    [Fact]
    public async Task Analytics_by_user_lists_spending_per_access_key_user()
    {
        var spending = await GetAsync("/api/analytics/by-user?range=7d");
        Shape.Exactly(spending, ("range", J.String), ("users", J.Array));
        Assert.Equal("7d", spending.Str("range"));
        var user = Assert.Single(spending.GetProperty("users").EnumerateArray());
        Shape.Exactly(user, ("userId", J.String), ("userName", J.String | J.Null), ("costUsd", J.Number), ("requestCount", J.Number));
        Assert.Equal(scenario.UserId, user.Str("userId"));
        Assert.Equal("alice", user.Str("userName"));
        Assert.Equal(6, user.Long("requestCount"));

        using var bad = await Api.GetAsync("/api/analytics/by-user?range=2w");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.NotNull((await HistoryApi.JsonAsync(bad)).Str("error"));
    }

    [Fact]
    public async Task Accounts_use_ccflares_rate_limit_codes_and_mutations_answer_in_a_data_envelope()
    {
        var created = scenario.CreateAccountResponse;
        Shape.Has(created, ("success", J.Bool), ("message", J.String), ("data", J.Object));
        Shape.Exactly(created.GetProperty("data"), ("accountId", J.String));
        Assert.Equal("ok", created.GetProperty("account").GetProperty("rateLimitStatus").Str("code"));

        var accounts = (await GetAsync("/api/accounts")).EnumerateArray().ToList();
        foreach (var a in accounts)
        {
            Shape.Has(a, ("id", J.String), ("name", J.String), ("provider", J.String), ("auth_method", J.String), ("base_url", J.String | J.Null),
                ("requestCount", J.Number), ("totalRequests", J.Number), ("lastUsed", J.String | J.Null), ("created", J.String), ("weight", J.Number),
                ("paused", J.Bool), ("tokenStatus", J.String), ("tokenExpiresAt", J.String | J.Null), ("rateLimitStatus", J.Object),
                ("rateLimitReset", J.String | J.Null), ("rateLimitRemaining", J.Number | J.Null), ("sessionInfo", J.Object));
            Shape.Has(a.GetProperty("rateLimitStatus"), ("code", J.String), ("isLimited", J.Bool), ("until", J.String | J.Null));
            Shape.Has(a.GetProperty("sessionInfo"), ("active", J.Bool), ("startedAt", J.String | J.Null), ("requestCount", J.Number));
            Assert.Contains(a.Str("tokenStatus"), new[] { "valid", "expired" });
        }
        var paused = Assert.Single(accounts, a => a.Str("id") == scenario.PausedAccountId);
        Assert.Equal("paused", paused.GetProperty("rateLimitStatus").Str("code"));
        Assert.Equal(scenario.AnthropicAccountId, Assert.Single(accounts, a => a.Str("name") == "anthropic-1").Str("id"));

        // Rename and rename back, so the other checks still find the account by name.
        using (var renamed = await Api.PostAsJsonAsync($"/api/accounts/{scenario.PausedAccountId}/rename", new { name = "anthropic-renamed" }))
        {
            var body = await HistoryApi.JsonAsync(renamed);
            Shape.Has(body, ("success", J.Bool), ("message", J.String), ("data", J.Object));
            Assert.Equal("anthropic-renamed", body.GetProperty("data").Str("newName"));
        }
        using (var back = await Api.PostAsJsonAsync($"/api/accounts/{scenario.PausedAccountId}/rename", new { name = "anthropic-paused" }))
        {
            back.EnsureSuccessStatusCode();
        }
        using (var resumed = await Api.PostAsync($"/api/accounts/{scenario.PausedAccountId}/pause", null))
        {
            Shape.Has(await HistoryApi.JsonAsync(resumed), ("success", J.Bool), ("message", J.String));
        }
    }

    [Fact]
    public async Task Request_summaries_have_every_ccflare_field()
    {
        var rows = await GetAsync("/api/requests?limit=50");
        Assert.Equal(6, rows.GetArrayLength());
        foreach (var row in rows.EnumerateArray())
        {
            Shape.RequestSummary(row);
            Assert.Equal(scenario.UserId, row.Str("userId"));
            Assert.Equal("alice", row.Str("userName"));
        }
        var failed = Assert.Single(rows.EnumerateArray(), r => r.Long("statusCode") == 500);
        Assert.False(failed.GetProperty("success").GetBoolean());
        Assert.Equal("openai", failed.Str("provider"));
    }

    [Fact]
    public async Task Request_detail_nests_trace_account_and_transport()
    {
        var items = await GetAsync("/api/requests/detail?limit=100");
        Assert.Equal(6, items.GetArrayLength());
        foreach (var item in items.EnumerateArray())
        {
            Shape.RequestPayload(item);
            var meta = item.GetProperty("meta");
            Assert.InRange(meta.GetProperty("trace").GetProperty("timestamp").GetInt64(), DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
            Assert.False(meta.GetProperty("transport").GetProperty("pending").GetBoolean());
        }
        var all = items.GetRawText();
        Assert.DoesNotContain(ContractScenario.AnthropicKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain(ContractScenario.OpenAIKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.AccessKey, all, StringComparison.Ordinal);

        var streamed = Assert.Single(items.EnumerateArray(), i => i.GetProperty("meta").GetProperty("transport").GetProperty("isStream").GetBoolean());
        Assert.Equal("anthropic-1", streamed.GetProperty("meta").GetProperty("account").Str("name"));
        Assert.Equal(scenario.AnthropicAccountId, streamed.GetProperty("meta").GetProperty("account").Str("id"));
        Assert.Equal("anthropic", streamed.GetProperty("meta").GetProperty("trace").Str("provider"));
        var failed = Assert.Single(items.EnumerateArray(), i => i.GetProperty("response").Long("status") == 500);
        Assert.False(failed.GetProperty("meta").GetProperty("transport").GetProperty("success").GetBoolean());
        Assert.Equal("Upstream answered 500", failed.Str("error"));
    }

    [Fact]
    public async Task Conversation_returns_the_chain_oldest_first_in_the_detail_shape()
    {
        var chain = await GetAsync($"/api/requests/{scenario.ChainedRequestId}/conversation");
        Assert.Equal(2, chain.GetArrayLength());
        foreach (var item in chain.EnumerateArray())
        {
            Shape.RequestPayload(item);
            Assert.Equal("resp_fake01", item.GetProperty("meta").GetProperty("trace").Str("responseChainId"));
        }
        Assert.Equal(scenario.ChainedRequestId, chain[1].Str("id"));
        Assert.True(chain[0].GetProperty("meta").GetProperty("trace").GetProperty("timestamp").GetInt64()
            <= chain[1].GetProperty("meta").GetProperty("trace").GetProperty("timestamp").GetInt64());
        Assert.Contains("First turn", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(chain[0].GetProperty("request").Str("body")!)), StringComparison.Ordinal);

        var rows = await GetAsync("/api/requests?limit=50");
        var single = rows.EnumerateArray().First(r => r.Str("path") == "/v1/anthropic/v1/messages");
        var alone = await GetAsync($"/api/requests/{single.Str("id")}/conversation");
        Assert.Equal(single.Str("id"), Assert.Single(alone.EnumerateArray()).Str("id"));

        using var missing = await Api.GetAsync("/api/requests/no-such-request/conversation");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.NotNull((await HistoryApi.JsonAsync(missing)).Str("error"));
    }

    [Fact]
    public void Request_stream_sends_ccflares_ingress_start_summary_and_payload_events()
    {
        Assert.Equal("connected", JsonDocument.Parse(scenario.RequestEvents.First()).RootElement.Str("namedEvent"));

        var ingress = scenario.Events("ingress").ToList();
        Assert.Equal(6, ingress.Count);
        Assert.All(ingress, e => Shape.Exactly(e, ("type", J.String), ("id", J.String), ("timestamp", J.Number), ("method", J.String), ("path", J.String)));

        var start = scenario.Events("start").ToList();
        Assert.Equal(6, start.Count);
        Assert.All(start, e => Shape.Exactly(e, ("type", J.String), ("id", J.String), ("timestamp", J.Number), ("method", J.String), ("path", J.String),
            ("accountId", J.String | J.Null), ("statusCode", J.Number)));
        Assert.Contains(start, e => e.Str("accountId") == scenario.AnthropicAccountId && e.Long("statusCode") == 200);
        Assert.Contains(start, e => e.Long("statusCode") == 500);
        Assert.Equal(ingress.Select(e => e.Str("id")).Order(), start.Select(e => e.Str("id")).Order());
        Assert.Equal(ingress.Select(e => e.Long("timestamp")).Order(), start.Select(e => e.Long("timestamp")).Order());

        var summaries = scenario.Events("summary").ToList();
        Assert.Equal(6, summaries.Count);
        Assert.All(summaries, e =>
        {
            Shape.Exactly(e, ("type", J.String), ("payload", J.Object));
            Shape.RequestSummary(e.GetProperty("payload"));
        });
        var payloads = scenario.Events("payload").ToList();
        Assert.Equal(6, payloads.Count);
        Assert.All(payloads, e =>
        {
            Shape.Exactly(e, ("type", J.String), ("payload", J.Object));
            Shape.RequestPayload(e.GetProperty("payload"));
        });
        Assert.Equal(ingress.Select(e => e.Str("id")).Order(), summaries.Select(e => e.GetProperty("payload").Str("id")).Order());
        Assert.DoesNotContain(scenario.RequestEvents, e => e.Contains(ContractScenario.AnthropicKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_are_ts_level_msg_and_the_stream_opens_with_connected()
    {
        var history = await GetAsync("/api/logs/history");
        Assert.NotEqual(0, history.GetArrayLength());
        Assert.All(history.EnumerateArray(), Shape.LogEvent);

        var opening = JsonDocument.Parse(scenario.LogEvents.First()).RootElement;
        Shape.Exactly(opening, ("connected", J.Bool));
        Assert.True(opening.GetProperty("connected").GetBoolean());
        var lines = scenario.LogEvents.Skip(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, Shape.LogEvent);
        Assert.Contains(lines, l => l.Str("level") == "INFO" && l.Str("msg")!.Contains("alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Oauth_init_answers_in_a_data_envelope_and_session_status_is_top_level()
    {
        using var init = await Api.PostAsJsonAsync("/api/auth/claude-code/init", new { name = "cc-contract" });
        var body = await HistoryApi.JsonAsync(init);
        Shape.Has(body, ("success", J.Bool), ("message", J.String), ("data", J.Object));
        Shape.Has(body.GetProperty("data"), ("authUrl", J.String), ("sessionId", J.String), ("provider", J.String));
        var sessionId = body.GetProperty("data").Str("sessionId")!;

        var status = await GetAsync($"/api/auth/session/{sessionId}/status");
        Shape.Has(status, ("status", J.String));
        Assert.Equal("pending", status.Str("status"));

        var unknown = await GetAsync("/api/auth/session/not-a-session/status");
        Shape.Exactly(unknown, ("status", J.String));
        Assert.Equal("expired", unknown.Str("status"));
    }

    [Fact]
    public async Task Cleanup_answers_ccflares_data_envelope()
    {
        using var response = await Api.PostAsync("/api/maintenance/cleanup", null);
        var body = await HistoryApi.JsonAsync(response);
        Shape.Has(body, ("success", J.Bool), ("data", J.Object));
        var data = body.GetProperty("data");
        Shape.Exactly(data, ("removedRequests", J.Number), ("removedPayloads", J.Number), ("cutoffIso", J.String));
        Assert.Equal(0, data.Long("removedRequests"));
        var cutoff = DateTimeOffset.Parse(data.Str("cutoffIso")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow - cutoff, TimeSpan.FromDays(7) - TimeSpan.FromMinutes(5), TimeSpan.FromDays(7) + TimeSpan.FromMinutes(5));
        Assert.EndsWith("Z", data.Str("cutoffIso"), StringComparison.Ordinal);

        using var compact = await Api.PostAsync("/api/maintenance/compact", null);
        Shape.Has(await HistoryApi.JsonAsync(compact), ("success", J.Bool), ("message", J.String));
    }

    [Fact]
    public async Task Configuration_endpoints_keep_ccflares_names()
    {
        Shape.Has(await GetAsync("/api/config"), ("lbStrategy", J.String), ("port", J.Number | J.Null), ("sessionDurationMs", J.Number));
        var strategy = await GetAsync("/api/config/strategy");
        Shape.Has(strategy, ("strategy", J.String));
        var strategies = await GetAsync("/api/strategies");
        Assert.Contains(strategy.Str("strategy"), strategies.EnumerateArray().Select(s => s.GetString()));
        var retention = await GetAsync("/api/config/retention");
        Shape.Has(retention, ("payloadDays", J.Number), ("requestDays", J.Number));

        // Setting what is already set changes nothing for the other checks.
        using (var set = await Api.PostAsJsonAsync("/api/config/strategy", new { strategy = strategy.Str("strategy") }))
        {
            var body = await HistoryApi.JsonAsync(set);
            Shape.Has(body, ("success", J.Bool), ("message", J.String), ("data", J.Object));
            Assert.Equal(strategy.Str("strategy"), body.GetProperty("data").Str("strategy"));
        }
        using (var set = await Api.PostAsJsonAsync("/api/config/retention", new { payloadDays = retention.Long("payloadDays"), requestDays = retention.Long("requestDays") }))
        {
            Shape.Has(await HistoryApi.JsonAsync(set), ("payloadDays", J.Number), ("requestDays", J.Number));
        }
    }

    [Fact]
    public async Task Users_answer_ccflares_shapes()
    {
        var created = scenario.CreateUserResponse;
        Shape.Has(created, ("id", J.String), ("name", J.String), ("key", J.String), ("createdAt", J.String));
        Assert.StartsWith("ccfk_", created.Str("key"), StringComparison.Ordinal);

        var users = await GetAsync("/api/users");
        var alice = Assert.Single(users.EnumerateArray(), u => u.Str("id") == scenario.UserId);
        Shape.Has(alice, ("id", J.String), ("name", J.String), ("createdAt", J.String));
        Assert.False(alice.TryGetProperty("key", out _));

        using var added = await Api.PostAsJsonAsync("/api/users", new { name = "bob-to-delete" });
        var bob = await HistoryApi.JsonAsync(added);
        using var deleted = await Api.DeleteAsync($"/api/users/{bob.Str("id")}");
        Assert.True((await HistoryApi.JsonAsync(deleted)).GetProperty("deleted").GetBoolean());
    }
}

public sealed class InMemoryApiContractTests(InMemoryContractScenario scenario) : CcflareApiContractTests<InMemoryContractScenario>(scenario);

public sealed class SqliteApiContractTests(SqliteContractScenario scenario) : CcflareApiContractTests<SqliteContractScenario>(scenario);

public sealed class LiteDbApiContractTests(LiteDbContractScenario scenario) : CcflareApiContractTests<LiteDbContractScenario>(scenario);

public sealed class PostgreSqlApiContractTests(PostgreSqlContractScenario scenario) : CcflareApiContractTests<PostgreSqlContractScenario>(scenario);

/// <summary>What ccflare does while access keys are off, and <c>POST /api/stats/reset</c> (destructive, so on its own host).</summary>
public sealed class CcflareApiContractWithoutAccessKeysTests
{
    [Fact]
    public async Task By_user_analytics_and_users_are_404_while_access_keys_are_off()
    {
        await using var host = await CcflareTestHost.StartAsync();
        foreach (var path in new[] { "/api/analytics/by-user", "/api/analytics/by-user?range=24h", "/api/users" })
        {
            using var response = await host.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.NotNull((await HistoryApi.JsonAsync(response)).Str("error"));
        }
    }

    [Fact]
    public async Task Stats_reset_answers_success_and_message_and_empties_the_totals()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-contract-reset-01", upstream.BaseUrl);
        var client = SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Hi")] });
        await host.DrainHistoryAsync();

        using var reset = await host.Client.PostAsync("/api/stats/reset", null);
        Shape.Has(await HistoryApi.JsonAsync(reset), ("success", J.Bool), ("message", J.String));
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.Equal(0, stats.Long("totalRequests"));
        Assert.Empty(stats.GetProperty("recentErrors").EnumerateArray());
        Assert.Empty(stats.GetProperty("accounts").EnumerateArray());
    }
}
