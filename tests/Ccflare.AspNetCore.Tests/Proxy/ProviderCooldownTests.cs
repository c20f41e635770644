using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Proxy;

/// <summary>
/// Each provider's rate-limit answer, through the proxy: the account cools down exactly as long as the
/// most specific reset in that provider's headers says, the request fails over, and the account is
/// used again once the reset has passed.
/// </summary>
public sealed class ProviderCooldownTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private const string CodexBody = """{"model":"gpt-5-codex","input":"Hi","stream":true,"store":false}""";
    private const string ChatBody = """{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hi"}]}""";

    private readonly FakeTimeProvider _time = new(Start);
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync(time: _time);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static string Epoch(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private async Task AddAsync(string name, string provider, string key, string baseUrl, int priority)
    {
        using var response = await _host.Client.PostAsJsonAsync("/api/accounts", new { name, provider, api_key = key, base_url = baseUrl, priority });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Sends one request and returns the credentials the upstream saw for it, in order.</summary>
    private async Task<string[]> SendAsync(string path, string body)
    {
        var before = _upstream.Received.Count;
        using var response = await _host.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. _upstream.Received.Skip(before).Select(r => r.Credential!)];
    }

    private async Task<JsonElement> AccountAsync(string name)
    {
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
    }

    private async Task<DateTimeOffset?> LimitedUntilAsync(string name)
    {
        var status = (await AccountAsync(name)).GetProperty("rateLimitStatus");
        return status.GetProperty("isLimited").GetBoolean() ? status.GetProperty("until").GetDateTimeOffset() : null;
    }

    [Fact]
    public async Task A_codex_429_with_its_primary_window_spent_cools_the_account_until_that_window_resets()
    {
        await AddAsync("plus", "codex", "codex-plus", _upstream.CodexBaseUrl, priority: 0);
        await AddAsync("team", "codex", "codex-team", _upstream.CodexBaseUrl, priority: 1);
        _upstream.ScriptFor("codex-plus", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_in_seconds":1800}}""",
            new Dictionary<string, string>
            {
                ["x-codex-primary-used-percent"] = "100",
                ["x-codex-primary-window-minutes"] = "300",
                ["x-codex-primary-reset-after-seconds"] = "1800",
                ["x-codex-secondary-used-percent"] = "35",
                ["x-codex-secondary-window-minutes"] = "10080",
                ["x-codex-secondary-reset-after-seconds"] = "500000",
            }));

        Assert.Equal(["codex-plus", "codex-team"], await SendAsync("/v1/codex/responses", CodexBody));
        Assert.Equal(Start.AddMinutes(30), await LimitedUntilAsync("plus"));
        var primary = (await AccountAsync("plus")).GetProperty("usage").GetProperty("windows").EnumerateArray().First();
        Assert.Equal("primary", primary.GetProperty("name").GetString());
        Assert.Equal(1.0, primary.GetProperty("utilization").GetDouble());
        Assert.Equal(Start.AddMinutes(30), primary.GetProperty("resetsAt").GetDateTimeOffset());

        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(["codex-team"], await SendAsync("/v1/codex/responses", CodexBody));

        _time.Advance(TimeSpan.FromMinutes(1));
        _upstream.ClearScript("codex-plus");
        Assert.Equal(["codex-plus"], await SendAsync("/v1/codex/responses", CodexBody));
        Assert.Null(await LimitedUntilAsync("plus"));
    }

    [Fact]
    public async Task A_codex_429_while_both_windows_have_room_is_not_parked_until_a_window_reset()
    {
        await AddAsync("plus", "codex", "codex-plus", _upstream.CodexBaseUrl, priority: 0);
        await AddAsync("team", "codex", "codex-team", _upstream.CodexBaseUrl, priority: 1);
        _upstream.ScriptFor("codex-plus", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"error":{"type":"rate_limit_exceeded","message":"Rate limit reached"}}""",
            new Dictionary<string, string>
            {
                ["x-codex-primary-used-percent"] = "41",
                ["x-codex-primary-window-minutes"] = "300",
                ["x-codex-primary-reset-after-seconds"] = "10800",
                ["x-codex-secondary-used-percent"] = "12",
                ["x-codex-secondary-window-minutes"] = "10080",
                ["x-codex-secondary-reset-at"] = Epoch(Start.AddDays(5)),
            }));

        Assert.Equal(["codex-plus", "codex-team"], await SendAsync("/v1/codex/responses", CodexBody));
        Assert.Equal(Start.AddSeconds(2), await LimitedUntilAsync("plus"));
    }

    [Theory]
    [InlineData("499", "6m0s", "0", "1s", 1000)]
    [InlineData("0", "20ms", "12000", "6m0s", 20)]
    [InlineData("9000", "2h30m0s", "0", "20ms", 20)]
    [InlineData("40", "6m0s", "500", "1s", 1000)]
    public async Task An_openai_429_cools_until_the_reset_of_the_limit_it_hit_never_a_longer_one(
        string remainingRequests, string resetRequests, string remainingTokens, string resetTokens, int expectedMs)
    {
        await AddAsync("key-a", "openai", "sk-a", _upstream.OpenAIBaseUrl, priority: 0);
        await AddAsync("key-b", "openai", "sk-b", _upstream.OpenAIBaseUrl, priority: 1);
        _upstream.ScriptFor("sk-a", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"error":{"message":"Rate limit reached for gpt-4.1-mini in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 24.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}""",
            new Dictionary<string, string>
            {
                ["x-ratelimit-limit-requests"] = "10000",
                ["x-ratelimit-remaining-requests"] = remainingRequests,
                ["x-ratelimit-reset-requests"] = resetRequests,
                ["x-ratelimit-limit-tokens"] = "30000",
                ["x-ratelimit-remaining-tokens"] = remainingTokens,
                ["x-ratelimit-reset-tokens"] = resetTokens,
            }));

        Assert.Equal(["sk-a", "sk-b"], await SendAsync("/v1/openai/chat/completions", ChatBody));
        Assert.Equal(Start.AddMilliseconds(expectedMs), await LimitedUntilAsync("key-a"));

        _time.Advance(TimeSpan.FromMilliseconds(expectedMs));
        _upstream.ClearScript("sk-a");
        Assert.Equal(["sk-a"], await SendAsync("/v1/openai/chat/completions", ChatBody));
    }

    [Fact]
    public async Task An_openai_success_with_no_tokens_left_rests_the_key_until_the_token_reset()
    {
        await AddAsync("key-a", "openai", "sk-a", _upstream.OpenAIBaseUrl, priority: 0);
        await AddAsync("key-b", "openai", "sk-b", _upstream.OpenAIBaseUrl, priority: 1);
        _upstream.ScriptFor("sk-a", (context, request) =>
        {
            context.Response.Headers["x-ratelimit-remaining-requests"] = "9999";
            context.Response.Headers["x-ratelimit-reset-requests"] = "8.64s";
            context.Response.Headers["x-ratelimit-remaining-tokens"] = "0";
            context.Response.Headers["x-ratelimit-reset-tokens"] = "1s";
            return FakeUpstream.DefaultAsync(context, request);
        });

        Assert.Equal(["sk-a"], await SendAsync("/v1/openai/chat/completions", ChatBody));
        Assert.Equal(Start.AddSeconds(1), await LimitedUntilAsync("key-a"));
        Assert.Equal(["sk-b"], await SendAsync("/v1/openai/chat/completions", ChatBody));
    }

    private static string Rfc3339(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>An API-key response's limits as Anthropic reports them: what remains of each, and when it is replenished.</summary>
    private static Dictionary<string, string> KeyLimits(string requests, int requestsResetS, string input, int inputResetS, string output, int outputResetS) => new()
    {
        ["anthropic-ratelimit-requests-limit"] = "50",
        ["anthropic-ratelimit-requests-remaining"] = requests,
        ["anthropic-ratelimit-requests-reset"] = Rfc3339(Start.AddSeconds(requestsResetS)),
        ["anthropic-ratelimit-input-tokens-limit"] = "30000",
        ["anthropic-ratelimit-input-tokens-remaining"] = input,
        ["anthropic-ratelimit-input-tokens-reset"] = Rfc3339(Start.AddSeconds(inputResetS)),
        ["anthropic-ratelimit-output-tokens-limit"] = "8000",
        ["anthropic-ratelimit-output-tokens-remaining"] = output,
        ["anthropic-ratelimit-output-tokens-reset"] = Rfc3339(Start.AddSeconds(outputResetS)),
        ["anthropic-ratelimit-tokens-limit"] = "38000",
        ["anthropic-ratelimit-tokens-remaining"] = input == "0" || output == "0" ? "0" : "20000",
        ["anthropic-ratelimit-tokens-reset"] = Rfc3339(Start.AddSeconds(Math.Max(inputResetS, outputResetS))),
    };

    private const string RateLimitError = """{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 30,000 input tokens per minute."}}""";

    [Theory]
    [InlineData("49", 1, "0", 40, "8000", 2, 40)]
    [InlineData("0", 12, "30000", 1, "8000", 1, 12)]
    [InlineData("20", 3, "0", 30, "0", 50, 50)]
    [InlineData("20", 3, "12000", 25, "4000", 9, 3)]
    public async Task An_anthropic_key_429_cools_until_the_reset_of_the_limit_it_hit_never_a_longer_one(
        string requests, int requestsResetS, string input, int inputResetS, string output, int outputResetS, int expectedS)
    {
        await AddAsync("key-a", "anthropic", "key-a", _upstream.BaseUrl, priority: 0);
        await AddAsync("key-b", "anthropic", "key-b", _upstream.BaseUrl, priority: 1);
        _upstream.ScriptFor("key-a", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, RateLimitError,
            KeyLimits(requests, requestsResetS, input, inputResetS, output, outputResetS)));

        Assert.Equal(["key-a", "key-b"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Equal(Start.AddSeconds(expectedS), await LimitedUntilAsync("key-a"));

        _time.Advance(TimeSpan.FromSeconds(expectedS) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(["key-b"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        _upstream.ClearScript("key-a");
        Assert.Equal(["key-a"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
    }

    [Fact]
    public async Task An_anthropic_key_429_takes_retry_after_before_the_limit_resets()
    {
        await AddAsync("key-a", "anthropic", "key-a", _upstream.BaseUrl, priority: 0);
        await AddAsync("key-b", "anthropic", "key-b", _upstream.BaseUrl, priority: 1);
        var headers = KeyLimits("49", 1, "0", 40, "8000", 2);
        headers["retry-after"] = "25";
        _upstream.ScriptFor("key-a", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, RateLimitError, headers));

        Assert.Equal(["key-a", "key-b"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Equal(Start.AddSeconds(25), await LimitedUntilAsync("key-a"));
    }

    [Fact]
    public async Task A_spent_token_minute_with_room_in_the_plan_rests_the_account_for_the_minute_not_the_five_hour_window()
    {
        await AddAsync("main", "anthropic", "key-main", _upstream.BaseUrl, priority: 0);
        await AddAsync("spare", "anthropic", "key-spare", _upstream.BaseUrl, priority: 1);
        var headers = new Dictionary<string, string>
        {
            ["anthropic-ratelimit-unified-status"] = "allowed",
            ["anthropic-ratelimit-unified-reset"] = Epoch(Start.AddHours(4)),
            ["anthropic-ratelimit-unified-representative-claim"] = "five_hour",
            ["anthropic-ratelimit-unified-5h-status"] = "allowed",
            ["anthropic-ratelimit-unified-5h-utilization"] = "0.3",
            ["anthropic-ratelimit-unified-5h-reset"] = Epoch(Start.AddHours(4)),
            ["anthropic-ratelimit-tokens-limit"] = "40000",
            ["anthropic-ratelimit-tokens-remaining"] = "0",
            ["anthropic-ratelimit-tokens-reset"] = Rfc3339(Start.AddSeconds(20)),
        };
        _upstream.ScriptFor("key-main", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, RateLimitError, headers));

        Assert.Equal(["key-main", "key-spare"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Equal(Start.AddSeconds(20), await LimitedUntilAsync("main"));

        _time.Advance(TimeSpan.FromSeconds(20));
        _upstream.ClearScript("key-main");
        Assert.Equal(["key-main"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
    }

    [Fact]
    public async Task A_streamed_anthropic_success_with_its_output_tokens_spent_rests_the_key_until_they_are_replenished()
    {
        await AddAsync("key-a", "anthropic", "key-a", _upstream.BaseUrl, priority: 0);
        await AddAsync("key-b", "anthropic", "key-b", _upstream.BaseUrl, priority: 1);
        _upstream.ScriptFor("key-a", (context, request) =>
        {
            foreach (var (name, value) in KeyLimits("48", 1, "26000", 2, "0", 9))
            {
                context.Response.Headers[name] = value;
            }
            return FakeUpstream.DefaultAsync(context, request);
        });
        var streamed = MessageBody.Replace("\"max_tokens\":10", "\"max_tokens\":10,\"stream\":true", StringComparison.Ordinal);

        Assert.Equal(["key-a"], await SendAsync("/v1/anthropic/v1/messages", streamed));
        Assert.Equal(Start.AddSeconds(9), await LimitedUntilAsync("key-a"));
        Assert.Equal(48, (await AccountAsync("key-a")).GetProperty("rateLimitRemaining").GetInt64());
        Assert.Equal(["key-b"], await SendAsync("/v1/anthropic/v1/messages", streamed));

        _time.Advance(TimeSpan.FromSeconds(9));
        _upstream.ClearScript("key-a");
        Assert.Equal(["key-a"], await SendAsync("/v1/anthropic/v1/messages", streamed));
    }

    private static Dictionary<string, string> PlanWithRoomOverageSpent() => new()
    {
        ["anthropic-ratelimit-unified-status"] = "allowed",
        ["anthropic-ratelimit-unified-reset"] = Epoch(Start.AddHours(3)),
        ["anthropic-ratelimit-unified-representative-claim"] = "five_hour",
        ["anthropic-ratelimit-unified-5h-status"] = "allowed",
        ["anthropic-ratelimit-unified-5h-utilization"] = "0.35",
        ["anthropic-ratelimit-unified-5h-reset"] = Epoch(Start.AddHours(3)),
        ["anthropic-ratelimit-unified-7d-status"] = "allowed",
        ["anthropic-ratelimit-unified-7d-utilization"] = "0.2",
        ["anthropic-ratelimit-unified-7d-reset"] = Epoch(Start.AddDays(4)),
        ["anthropic-ratelimit-unified-overage-status"] = "rejected",
        ["anthropic-ratelimit-unified-overage-disabled-reason"] = "out_of_credits",
        ["anthropic-ratelimit-unified-fallback-percentage"] = "0.5",
    };

    private const string MessageBody = """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task A_spent_overage_pool_keeps_an_account_whose_plan_windows_have_room_in_use()
    {
        await AddAsync("max", "anthropic", "key-max", _upstream.BaseUrl, priority: 0);
        await AddAsync("spare", "anthropic", "key-spare", _upstream.BaseUrl, priority: 1);
        _upstream.ScriptFor("key-max", async (context, request) =>
        {
            foreach (var (name, value) in PlanWithRoomOverageSpent())
            {
                context.Response.Headers[name] = value;
            }
            await FakeUpstream.DefaultAsync(context, request);
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(["key-max"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        }
        var max = await AccountAsync("max");
        Assert.False(max.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean());
        Assert.Equal("rejected", max.GetProperty("usage").GetProperty("overage").GetProperty("status").GetString());

        // A 429 that carries only the spent pool (the plan still has room) rests the account for seconds, not until the unified reset.
        _upstream.ScriptFor("key-max", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"Extra usage is not available."}}""", PlanWithRoomOverageSpent()));
        Assert.Equal(["key-max", "key-spare"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Equal(Start.AddSeconds(2), await LimitedUntilAsync("max"));

        _time.Advance(TimeSpan.FromSeconds(2));
        _upstream.ClearScript("key-max");
        Assert.Equal(["key-max"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
    }

    [Fact]
    public async Task A_success_reporting_only_the_opus_week_rejected_keeps_the_account_for_other_models()
    {
        await AddAsync("max", "anthropic", "key-max", _upstream.BaseUrl, priority: 0);
        await AddAsync("spare", "anthropic", "key-spare", _upstream.BaseUrl, priority: 1);
        _upstream.ScriptFor("key-max", async (context, request) =>
        {
            var headers = context.Response.Headers;
            headers["anthropic-ratelimit-unified-status"] = "rejected";
            headers["anthropic-ratelimit-unified-reset"] = Epoch(Start.AddDays(2));
            headers["anthropic-ratelimit-unified-representative-claim"] = "seven_day_opus";
            headers["anthropic-ratelimit-unified-7d_opus-status"] = "rejected";
            headers["anthropic-ratelimit-unified-7d_opus-utilization"] = "1.0";
            headers["anthropic-ratelimit-unified-7d_opus-reset"] = Epoch(Start.AddDays(2));
            headers["anthropic-ratelimit-unified-5h-status"] = "allowed";
            headers["anthropic-ratelimit-unified-5h-utilization"] = "0.2";
            headers["anthropic-ratelimit-unified-5h-reset"] = Epoch(Start.AddHours(4));
            await FakeUpstream.DefaultAsync(context, request);
        });

        Assert.Equal(["key-max"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Null(await LimitedUntilAsync("max"));
        Assert.Equal(["key-max"], await SendAsync("/v1/anthropic/v1/messages", MessageBody));
        Assert.Equal(["key-spare"], await SendAsync("/v1/anthropic/v1/messages", MessageBody.Replace("claude-sonnet-4-5", "claude-opus-4-1", StringComparison.Ordinal)));
    }
}
