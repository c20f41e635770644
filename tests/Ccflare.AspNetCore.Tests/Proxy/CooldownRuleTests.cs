using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Providers;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Proxy;

/// <summary>A rate limit cools an account down from the most specific signal it carries, and only as long as that says.</summary>
public sealed class CooldownRuleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProviderRegistry Providers = new(new Dictionary<string, ProviderOptions>());

    private readonly FakeTimeProvider _time = new(Now);
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync(time: _time);
        await _host.AddAccountAsync("first", "anthropic", "key-1", _upstream.BaseUrl);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _host.AddAccountAsync("second", "anthropic", "key-2", _upstream.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static string Epoch(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static RateLimitInfo Read429(params (string Name, string Value)[] headers)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        return Providers.Find("claude-code")!.ReadAccountFeedback(429, response.Headers, Now).RateLimit;
    }

    [Fact]
    public void The_rejected_windows_reset_beats_retry_after()
    {
        var info = Read429(
            ("anthropic-ratelimit-unified-status", "rejected"), ("anthropic-ratelimit-unified-reset", Epoch(Now.AddHours(3))),
            ("anthropic-ratelimit-unified-5h-status", "rejected"), ("anthropic-ratelimit-unified-5h-reset", Epoch(Now.AddHours(2))),
            ("retry-after", "30"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddHours(2), info.Reset);
    }

    [Fact]
    public void A_per_minute_limit_is_not_parked_until_the_unified_reset()
    {
        var info = Read429(("anthropic-ratelimit-unified-status", "allowed"), ("anthropic-ratelimit-unified-reset", Epoch(Now.AddHours(5))), ("retry-after", "20"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddSeconds(20), info.Reset);
    }

    [Fact]
    public void A_bare_429_has_no_reset_so_the_cooldown_is_short() =>
        Assert.Equal(new RateLimitInfo("rate_limited", null, null, true), Read429(("x-should-retry", "true")));

    [Fact]
    public void A_spent_overage_pool_does_not_park_an_account_whose_plan_has_room()
    {
        var info = Read429(
            ("anthropic-ratelimit-unified-status", "allowed"), ("anthropic-ratelimit-unified-reset", Epoch(Now.AddHours(4))),
            ("anthropic-ratelimit-unified-5h-status", "allowed"), ("anthropic-ratelimit-unified-5h-utilization", "0.3"),
            ("anthropic-ratelimit-unified-overage-status", "rejected"), ("anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits"));

        Assert.True(info.IsHardLimited);
        Assert.Null(info.Reset);
    }

    [Fact]
    public void A_429_from_a_model_family_window_does_not_park_the_account()
    {
        var info = Read429(
            ("anthropic-ratelimit-unified-status", "rejected"), ("anthropic-ratelimit-unified-representative-claim", "seven_day_opus"),
            ("anthropic-ratelimit-unified-7d_opus-status", "rejected"), ("anthropic-ratelimit-unified-7d_opus-reset", Epoch(Now.AddDays(2))),
            ("anthropic-ratelimit-unified-5h-status", "allowed"), ("anthropic-ratelimit-unified-5h-utilization", "0.2"));

        Assert.False(info.IsHardLimited);
    }

    private async Task<HttpStatusCode> SendAsync(string model = "claude-sonnet-4-5")
    {
        using var response = await _host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent($$"""{"model":"{{model}}","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        await response.Content.ReadAsStringAsync();
        return response.StatusCode;
    }

    private async Task<DateTimeOffset?> LimitedUntilAsync()
    {
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        var status = accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "first").GetProperty("rateLimitStatus");
        return status.GetProperty("isLimited").GetBoolean() ? status.GetProperty("until").GetDateTimeOffset() : null;
    }

    [Fact]
    public async Task Bare_429s_in_a_row_cool_down_for_seconds_doubling_and_a_success_starts_over()
    {
        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""", new Dictionary<string, string> { ["x-should-retry"] = "true" }));

        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Equal(_time.GetUtcNow().AddSeconds(2), await LimitedUntilAsync());

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Equal(_time.GetUtcNow().AddSeconds(4), await LimitedUntilAsync());

        _time.Advance(TimeSpan.FromSeconds(4));
        _upstream.ClearScript("key-1");
        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Null(await LimitedUntilAsync());

        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}"""));
        _time.Advance(TimeSpan.FromHours(6));
        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Equal(_time.GetUtcNow().AddSeconds(2), await LimitedUntilAsync());
    }

    [Fact]
    public async Task An_overloaded_answer_fails_over_without_a_cooldown()
    {
        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, 529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""));

        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Null(await LimitedUntilAsync());
        Assert.Equal(HttpStatusCode.OK, await SendAsync());
        Assert.Equal(2, _upstream.Received.Count(r => r.Credential == "key-1"));
    }

    [Fact]
    public async Task An_opus_limit_moves_opus_requests_only()
    {
        _upstream.ScriptFor("key-1", (context, request) =>
        {
            if (!request.Body.Contains("opus", StringComparison.Ordinal))
            {
                return FakeUpstream.DefaultAsync(context, request);
            }
            return FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"opus limit"}}""", new Dictionary<string, string>
            {
                ["anthropic-ratelimit-unified-status"] = "rejected",
                ["anthropic-ratelimit-unified-representative-claim"] = "seven_day_opus",
                ["anthropic-ratelimit-unified-7d_opus-status"] = "rejected",
                ["anthropic-ratelimit-unified-7d_opus-utilization"] = "1.0",
                ["anthropic-ratelimit-unified-7d_opus-reset"] = Epoch(Now.AddDays(2)),
                ["anthropic-ratelimit-unified-5h-status"] = "allowed",
                ["anthropic-ratelimit-unified-5h-utilization"] = "0.2",
            });
        });

        Assert.Equal(HttpStatusCode.OK, await SendAsync("claude-opus-4-1"));
        Assert.Null(await LimitedUntilAsync());
        Assert.Equal(HttpStatusCode.OK, await SendAsync("claude-opus-4-1"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("claude-sonnet-4-5"));

        var firstAnswers = _upstream.Received.Where(r => r.Credential == "key-1").Select(r => r.Body.Contains("opus", StringComparison.Ordinal) ? "opus" : "sonnet");
        Assert.Equal(["opus", "sonnet"], firstAnswers);
    }

    [Fact]
    public async Task Health_is_degraded_while_no_account_of_a_provider_is_usable()
    {
        var healthy = await _host.Client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ok", healthy.GetProperty("status").GetString());
        Assert.Equal(2, healthy.GetProperty("usableAccounts").GetProperty("anthropic").GetInt32());
        Assert.False(healthy.GetProperty("usableAccounts").TryGetProperty("openai", out _));

        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, "{}", new Dictionary<string, string> { ["retry-after"] = "60" }));
        _upstream.ScriptFor("key-2", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, "{}", new Dictionary<string, string> { ["retry-after"] = "60" }));
        await SendAsync();

        using var response = await _host.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var degraded = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("degraded", degraded.GetProperty("status").GetString());
        Assert.Equal(0, degraded.GetProperty("usableAccounts").GetProperty("anthropic").GetInt32());

        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("ok", (await _host.Client.GetFromJsonAsync<JsonElement>("/health")).GetProperty("status").GetString());
    }
}
