using System.Net;
using Ccflare.Providers;

namespace Ccflare.Tests.Proxy;

public sealed class RateLimitParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProviderRegistry Providers = new(new Dictionary<string, ProviderOptions>());

    private static RateLimitInfo Parse(string provider, int status, params (string Name, string Value)[] headers)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        return Providers.Find(provider)!.ReadAccountFeedback(status, response.Headers, Now).RateLimit;
    }

    [Theory]
    [InlineData("rejected", true)]
    [InlineData("rate_limited", true)]
    [InlineData("blocked", true)]
    [InlineData("queueing_hard", true)]
    [InlineData("payment_required", true)]
    [InlineData("allowed", false)]
    [InlineData("allowed_warning", false)]
    [InlineData("queueing_soft", false)]
    public void Anthropic_unified_status(string status, bool hard)
    {
        var reset = Now.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var info = Parse("claude-code", 200, ("anthropic-ratelimit-unified-status", status), ("anthropic-ratelimit-unified-reset", reset), ("anthropic-ratelimit-unified-remaining", "17"));

        Assert.Equal(status, info.Status);
        Assert.Equal(hard, info.IsHardLimited);
        Assert.Equal(Now.AddHours(1), info.Reset);
        Assert.Equal(17, info.Remaining);
    }

    [Fact]
    public void Anthropic_429_without_unified_headers_uses_retry_after()
    {
        var info = Parse("anthropic", 429, ("retry-after", "30"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddSeconds(30), info.Reset);
    }

    private static string Rfc3339(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static (string, string)[] KeyLimits(string requests, int requestsResetS, string input, int inputResetS, string output, int outputResetS) =>
    [
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", requests),
        ("anthropic-ratelimit-requests-reset", Rfc3339(Now.AddSeconds(requestsResetS))),
        ("anthropic-ratelimit-input-tokens-limit", "30000"),
        ("anthropic-ratelimit-input-tokens-remaining", input),
        ("anthropic-ratelimit-input-tokens-reset", Rfc3339(Now.AddSeconds(inputResetS))),
        ("anthropic-ratelimit-output-tokens-limit", "8000"),
        ("anthropic-ratelimit-output-tokens-remaining", output),
        ("anthropic-ratelimit-output-tokens-reset", Rfc3339(Now.AddSeconds(outputResetS))),
    ];

    [Theory]
    [InlineData("49", 1, "0", 40, "8000", 2, 40)]
    [InlineData("0", 12, "30000", 1, "8000", 1, 12)]
    [InlineData("20", 3, "0", 30, "0", 50, 50)]
    [InlineData("20", 3, "12000", 25, "4000", 9, 3)]
    public void Anthropic_key_429_cools_until_the_reset_of_the_limit_it_hit(string requests, int requestsResetS, string input, int inputResetS, string output, int outputResetS, int expectedS)
    {
        var info = Parse("anthropic", 429, KeyLimits(requests, requestsResetS, input, inputResetS, output, outputResetS));

        Assert.True(info.IsHardLimited);
        Assert.Equal("rate_limited", info.Status);
        Assert.Equal(Now.AddSeconds(expectedS), info.Reset);
        Assert.Equal(long.Parse(requests, System.Globalization.CultureInfo.InvariantCulture), info.Remaining);
    }

    [Fact]
    public void Anthropic_key_429_prefers_retry_after_to_the_limit_resets()
    {
        var info = Parse("anthropic", 429, [("retry-after", "7"), .. KeyLimits("49", 1, "0", 40, "8000", 2)]);

        Assert.Equal(Now.AddSeconds(7), info.Reset);
    }

    [Fact]
    public void Anthropic_429_with_a_spent_token_minute_and_plan_room_rests_for_the_minute_not_the_five_hour_window()
    {
        var fiveHourReset = Now.AddHours(4).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var info = Parse("anthropic", 429,
        [
            ("anthropic-ratelimit-unified-status", "allowed"),
            ("anthropic-ratelimit-unified-reset", fiveHourReset),
            ("anthropic-ratelimit-unified-5h-status", "allowed"),
            ("anthropic-ratelimit-unified-5h-utilization", "0.3"),
            ("anthropic-ratelimit-unified-5h-reset", fiveHourReset),
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", Rfc3339(Now.AddSeconds(20))),
        ]);

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddSeconds(20), info.Reset);
    }

    [Fact]
    public void Anthropic_key_success_with_a_limit_spent_rests_until_it_resets()
    {
        var info = Parse("anthropic", 200, KeyLimits("49", 1, "30000", 1, "0", 9));

        Assert.True(info.IsHardLimited);
        Assert.Equal("rate_limited", info.Status);
        Assert.Equal(Now.AddSeconds(9), info.Reset);
    }

    [Fact]
    public void Anthropic_key_success_with_room_is_allowed()
    {
        var info = Parse("anthropic", 200, KeyLimits("49", 1, "29000", 2, "8000", 3));

        Assert.False(info.IsHardLimited);
        Assert.Equal("allowed", info.Status);
        Assert.Equal(Now.AddSeconds(1), info.Reset);
        Assert.Equal(49, info.Remaining);
    }

    [Theory]
    [InlineData("anthropic-ratelimit-tokens-reset", "in 20 seconds")]
    [InlineData("anthropic-ratelimit-tokens-reset", "2026-13-45T25:61:00Z")]
    [InlineData("anthropic-ratelimit-tokens-reset", "1795000000")]
    [InlineData("anthropic-ratelimit-tokens-reset", "")]
    public void Anthropic_key_malformed_reset_of_the_spent_limit_leaves_the_reset_unknown(string name, string value)
    {
        var info = Parse("anthropic", 429, ("anthropic-ratelimit-tokens-remaining", "0"), (name, value),
            ("anthropic-ratelimit-requests-remaining", "40"), ("anthropic-ratelimit-requests-reset", Rfc3339(Now.AddSeconds(2))));

        Assert.True(info.IsHardLimited);
        Assert.Null(info.Reset);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("none")]
    [InlineData("1e3")]
    public void Anthropic_key_malformed_remaining_is_not_a_spent_limit(string remaining)
    {
        var info = Parse("anthropic", 200, ("anthropic-ratelimit-tokens-remaining", remaining), ("anthropic-ratelimit-tokens-reset", Rfc3339(Now.AddSeconds(30))));

        Assert.False(info.IsHardLimited);
    }

    [Fact]
    public void Reading_an_anthropic_key_answer_allocates_nothing()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        foreach (var (name, value) in KeyLimits("49", 1, "0", 40, "8000", 2))
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        var provider = Providers.Find("anthropic")!;
        provider.ReadAccountFeedback(429, response.Headers, Now);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var feedback = provider.ReadAccountFeedback(429, response.Headers, Now);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Now.AddSeconds(40), feedback.RateLimit.Reset);
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("2026-11-26T12:00:40Z", 40_000)]
    [InlineData("2026-11-26T12:00:40.250Z", 40_250)]
    [InlineData("2026-11-26T13:00:40+01:00", 40_000)]
    public void Rfc3339_timestamps(string raw, double expectedMsAfterNow) =>
        Assert.Equal(Now.AddMilliseconds(expectedMsAfterNow), ResponseHeaderValues.ParseTimestamp(raw));

    [Fact]
    public void OpenAI_remaining_zero_is_limited_until_reset_duration()
    {
        var info = Parse("openai", 200, ("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddMinutes(6), info.Reset);
        Assert.Equal(0, info.Remaining);
    }

    [Fact]
    public void OpenAI_with_remaining_is_allowed()
    {
        var info = Parse("openai", 200, ("x-ratelimit-remaining-requests", "42"), ("x-ratelimit-reset-requests", "120ms"));

        Assert.False(info.IsHardLimited);
        Assert.Equal("allowed", info.Status);
        Assert.Equal(Now.AddMilliseconds(120), info.Reset);
    }

    [Fact]
    public void Codex_used_percent_100_is_limited_until_the_window_reset()
    {
        var primaryReset = Now.AddHours(2).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var info = Parse("codex", 200, ("x-codex-primary-used-percent", "100"), ("x-codex-secondary-used-percent", "40"), ("x-codex-primary-reset-at", primaryReset));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddHours(2), info.Reset);
        Assert.Equal(0, info.Remaining);
    }

    [Fact]
    public void Codex_below_100_is_allowed()
    {
        var info = Parse("codex", 200, ("x-codex-primary-used-percent", "35.5"), ("x-codex-secondary-used-percent", "12"));

        Assert.False(info.IsHardLimited);
        Assert.Equal("allowed", info.Status);
    }

    [Fact]
    public void Codex_429_with_a_spent_window_is_limited_until_its_reset_after_seconds()
    {
        var info = Parse("codex", 429, ("x-codex-primary-used-percent", "100"), ("x-codex-primary-reset-after-seconds", "1800"), ("x-codex-secondary-used-percent", "20"), ("x-codex-secondary-reset-after-seconds", "400000"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddMinutes(30), info.Reset);
    }

    [Fact]
    public void Codex_429_with_room_in_both_windows_takes_the_openai_reset_not_a_window_reset()
    {
        var info = Parse("codex", 429, ("x-codex-primary-used-percent", "40"), ("x-codex-primary-reset-after-seconds", "9000"), ("retry-after", "7"));

        Assert.True(info.IsHardLimited);
        Assert.Equal(Now.AddSeconds(7), info.Reset);
    }

    [Fact]
    public void OpenAI_429_prefers_retry_after_to_the_limit_resets()
    {
        var info = Parse("openai", 429, ("retry-after", "3"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "20ms"));

        Assert.Equal(Now.AddSeconds(3), info.Reset);
    }

    [Fact]
    public void Header_names_are_read_in_any_case()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Anthropic-RateLimit-Unified-Status", "rejected");
        response.Headers.TryAddWithoutValidation("Anthropic-RateLimit-Unified-5H-Status", "rejected");
        response.Headers.TryAddWithoutValidation("Anthropic-RateLimit-Unified-5H-Utilization", "1.0");
        response.Headers.TryAddWithoutValidation("Anthropic-RateLimit-Unified-5H-Reset", Now.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Headers.TryAddWithoutValidation("Retry-After", "30");

        var feedback = Providers.Find("claude-code")!.ReadAccountFeedback(429, response.Headers, Now);

        Assert.Equal(Now.AddHours(1), feedback.RateLimit.Reset);
        Assert.Equal(new UsageWindow("five_hour", 300, 1, Now.AddHours(1), "rejected"), Assert.Single(feedback.Usage!.Windows));
    }

    [Theory]
    [InlineData("anthropic", "anthropic-ratelimit-unified-reset", "99999999999999999")]
    [InlineData("anthropic", "anthropic-ratelimit-unified-5h-reset", "-9223372036854775808")]
    [InlineData("anthropic", "x-ratelimit-reset", "9223372036854775807")]
    [InlineData("anthropic", "retry-after", "1e300")]
    [InlineData("anthropic", "anthropic-ratelimit-requests-reset", "9999-99-99T99:99:99Z")]
    [InlineData("anthropic", "anthropic-ratelimit-output-tokens-reset", "-9223372036854775808")]
    [InlineData("openai", "x-ratelimit-reset-requests", "99999999999999h")]
    [InlineData("openai", "x-ratelimit-reset-tokens", "1e308s")]
    [InlineData("codex", "x-codex-primary-reset-at", "99999999999999999")]
    public void Out_of_range_values_are_left_out_never_thrown(string provider, string name, string value)
    {
        var info = Parse(provider, 429, (name, value));

        Assert.True(info.IsHardLimited);
        Assert.Null(info.Reset);
    }

    [Fact]
    public void No_headers_means_no_data()
    {
        Assert.False(Parse("anthropic", 200).HasData);
        Assert.False(Parse("openai", 200).HasData);
    }

    [Theory]
    [InlineData("1s", 1000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("120ms", 120)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("2", 2000)]
    public void Durations(string raw, double expectedMs) =>
        Assert.Equal(expectedMs, ResponseHeaderValues.ParseDuration(raw)!.Value.TotalMilliseconds, 3);

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("5x")]
    public void Bad_durations_are_ignored(string raw) => Assert.Null(ResponseHeaderValues.ParseDuration(raw));
}
