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
