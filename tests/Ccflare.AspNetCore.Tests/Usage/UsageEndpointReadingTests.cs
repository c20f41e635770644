using System.Text;
using System.Text.Json;
using Ccflare.Providers;
using Ccflare.Tests.Infrastructure;
using Ccflare.Usage.Polling;

namespace Ccflare.Tests.Usage;

/// <summary>
/// Each provider reads its usage endpoint's answer into windows with fractions; the schedule's jitter and
/// backoff stay within their bounds; an older reading never replaces a fresher one.
/// </summary>
public sealed class UsageEndpointReadingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProviderRegistry Providers = new(new Dictionary<string, ProviderOptions>());

    private static AccountUsage? Read(string provider, string json)
    {
        using var answer = JsonDocument.Parse(json);
        return Providers.Find(provider)!.ReadUsageEndpoint(answer.RootElement, Now);
    }

    [Fact]
    public void Claude_answer_becomes_fractions_with_window_lengths_and_resets()
    {
        var usage = Read("claude-code", WireFormats.ClaudeOAuthUsage(24, Now.AddHours(3), 36, Now.AddDays(4), opusPercent: 100, sonnetPercent: 1, familyResetsAt: Now.AddDays(2)));

        Assert.NotNull(usage);
        Assert.Equal(Now, usage.UpdatedAt);
        Assert.Equal(
            [
                new UsageWindow("five_hour", 300, 0.24, Now.AddHours(3), "allowed"),
                new UsageWindow("seven_day", 10080, 0.36, Now.AddDays(4), "allowed"),
                new UsageWindow("seven_day_opus", 10080, 1, Now.AddDays(2), "rejected"),
                new UsageWindow("seven_day_sonnet", 10080, 0.01, Now.AddDays(2), "allowed"),
            ],
            usage.Windows);
        // A full family window binds only its family: no overall rejection.
        Assert.Null(usage.Status);
        Assert.Null(usage.RepresentativeClaim);
        Assert.Equal(new UsageOverage("rejected", null), usage.Overage);
    }

    [Fact]
    public void Claude_full_window_for_every_model_is_the_binding_claim()
    {
        var usage = Read("claude-code", WireFormats.ClaudeOAuthUsage(100, Now.AddMinutes(40), 50, Now.AddDays(1), extraUsageEnabled: true));

        Assert.NotNull(usage);
        Assert.Equal("rejected", usage.Status);
        Assert.Equal("five_hour", usage.RepresentativeClaim);
        Assert.Equal(Now.AddMinutes(40), usage.ResetsAt);
        Assert.Equal(new UsageOverage("allowed", null), usage.Overage);
    }

    [Fact]
    public void Claude_reset_with_an_offset_and_a_null_reset_are_read()
    {
        var usage = Read("claude-code", """{"five_hour":{"utilization":61.0,"resets_at":"2026-12-04T14:59:59.571404+02:00"},"seven_day":{"utilization":22,"resets_at":null}}""");

        Assert.NotNull(usage);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 59, 59, TimeSpan.Zero).AddTicks(5714040), usage.Window("five_hour")!.ResetsAt);
        Assert.Null(usage.Window("seven_day")!.ResetsAt);
        Assert.Equal(0.22, usage.Window("seven_day")!.Utilization);
        Assert.Null(usage.Overage);
    }

    [Fact]
    public void Codex_answer_becomes_primary_and_secondary_fractions()
    {
        var usage = Read("codex", WireFormats.CodexUsage(Now, 3, Now.AddHours(4), 9, Now.AddDays(5)));

        Assert.NotNull(usage);
        Assert.Equal("allowed", usage.Status);
        Assert.Equal(
            [
                new UsageWindow("primary", 300, 0.03, Now.AddHours(4), "allowed"),
                new UsageWindow("secondary", 10080, 0.09, Now.AddDays(5), "allowed"),
            ],
            usage.Windows);
    }

    [Fact]
    public void Codex_limit_reached_is_rejected_until_the_full_window_resets()
    {
        var usage = Read("codex", WireFormats.CodexUsage(Now, 100, Now.AddHours(2), 40, Now.AddDays(5), limitReached: true));

        Assert.NotNull(usage);
        Assert.Equal("rejected", usage.Status);
        Assert.Equal("primary", usage.RepresentativeClaim);
        Assert.Equal(Now.AddHours(2), usage.ResetsAt);
    }

    [Fact]
    public void Codex_reset_after_seconds_counts_from_the_reading()
    {
        var usage = Read("codex", """{"rate_limit":{"primary_window":{"used_percent":50,"limit_window_seconds":18000,"reset_after_seconds":600},"secondary_window":null}}""");

        Assert.Equal([new UsageWindow("primary", 300, 0.5, Now.AddSeconds(600), "allowed")], usage!.Windows);
    }

    [Theory]
    [InlineData("claude-code", "[]")]
    [InlineData("claude-code", "{}")]
    [InlineData("claude-code", """{"five_hour":{"utilization":"high","resets_at":"soon"}}""")]
    [InlineData("claude-code", """{"five_hour":null,"seven_day":null,"extra_usage":{"is_enabled":false}}""")]
    [InlineData("claude-code", """{"error":{"type":"permission_error","message":"scope"}}""")]
    [InlineData("codex", """{"rate_limit":null}""")]
    [InlineData("codex", """{"rate_limit":{"primary_window":{"used_percent":-4}}}""")]
    [InlineData("codex", """{"detail":"Unauthorized"}""")]
    [InlineData("anthropic", """{"five_hour":{"utilization":10,"resets_at":null}}""")]
    [InlineData("openai", """{"rate_limit":{"primary_window":{"used_percent":10}}}""")]
    public void Answers_not_in_the_endpoint_shape_read_as_nothing(string provider, string json) =>
        Assert.Null(Read(provider, json));

    [Fact]
    public void Only_claude_code_and_codex_have_usage_endpoints_by_default()
    {
        Assert.Equal("https://api.anthropic.com/api/oauth/usage", Providers.Find("claude-code")!.UsageUrl);
        Assert.Equal("https://chatgpt.com/backend-api/wham/usage", Providers.Find("codex")!.UsageUrl);
        Assert.Null(Providers.Find("anthropic")!.UsageUrl);
        Assert.Null(Providers.Find("openai")!.UsageUrl);

        var configured = new ProviderRegistry(new Dictionary<string, ProviderOptions>
        {
            ["claude-code"] = new() { UsageUrl = "https://usage.internal.example/api/oauth/usage" },
            ["codex"] = new() { UsageUrl = "" },
        });
        Assert.Equal("https://usage.internal.example/api/oauth/usage", configured.Find("claude-code")!.UsageUrl);
        Assert.Null(configured.Find("codex")!.UsageUrl);
    }

    [Fact]
    public void Claude_usage_request_carries_the_token_and_the_oauth_beta_flag()
    {
        var account = new Account { Id = "a", Name = "max", Provider = "claude-code", AuthMethod = AccountAuthMethods.OAuth };
        using var request = Providers.Find("claude-code")!.CreateUsageRequest(account, "at-secret");

        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("https://api.anthropic.com/api/oauth/usage", request.RequestUri!.ToString());
        Assert.Equal("Bearer at-secret", request.Headers.GetValues("Authorization").Single());
        Assert.Equal("oauth-2025-04-20", request.Headers.GetValues("anthropic-beta").Single());
    }

    [Fact]
    public void Codex_usage_request_names_the_chatgpt_account_its_token_carries()
    {
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"https://api.openai.com/auth":{"chatgpt_account_id":"acc-123","chatgpt_plan_type":"pro"}}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2lnbmF0dXJl";
        var account = new Account { Id = "c", Name = "chatgpt", Provider = "codex", AuthMethod = AccountAuthMethods.OAuth };

        using var request = Providers.Find("codex")!.CreateUsageRequest(account, token);
        using var opaque = Providers.Find("codex")!.CreateUsageRequest(account, "not-a-jwt");

        Assert.Equal("acc-123", request.Headers.GetValues("chatgpt-account-id").Single());
        Assert.Equal("Bearer " + token, request.Headers.GetValues("Authorization").Single());
        Assert.False(opaque.Headers.Contains("chatgpt-account-id"));
    }

    [Fact]
    public void An_older_reading_never_replaces_fresher_windows_but_adds_the_ones_it_alone_has()
    {
        var fromHeaders = new AccountUsage
        {
            UpdatedAt = Now,
            Status = "allowed_warning",
            RepresentativeClaim = "five_hour",
            Windows = [new UsageWindow("five_hour", 300, 0.97, Now.AddHours(1), "allowed_warning")],
        };
        var polledBefore = Read("claude-code", WireFormats.ClaudeOAuthUsage(80, Now.AddHours(1), 40, Now.AddDays(3), sonnetPercent: 5, familyResetsAt: Now.AddDays(3)))!
            with { UpdatedAt = Now.AddSeconds(-2) };

        var combined = AccountUsage.Combine(fromHeaders, polledBefore);

        Assert.Equal(Now, combined.UpdatedAt);
        Assert.Equal("allowed_warning", combined.Status);
        Assert.Equal(0.97, combined.Window("five_hour")!.Utilization);
        Assert.Equal(0.4, combined.Window("seven_day")!.Utilization);
        Assert.Equal(0.05, combined.Window("seven_day_sonnet")!.Utilization);

        var polledAfter = polledBefore with { UpdatedAt = Now.AddSeconds(2) };
        var newer = AccountUsage.Combine(fromHeaders, polledAfter);
        Assert.Equal(0.8, newer.Window("five_hour")!.Utilization);
        Assert.Equal(Now.AddSeconds(2), newer.UpdatedAt);
        // The poll names no overall status: the one the headers reported stays.
        Assert.Equal("allowed_warning", newer.Status);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.9999999)]
    public void Jitter_stays_within_a_tenth_of_the_interval(double draw)
    {
        var interval = TimeSpan.FromMinutes(5);
        var schedule = new UsagePollSchedule(interval, () => draw);

        Assert.InRange(schedule.First(), TimeSpan.Zero, interval * 0.1);
        Assert.InRange(schedule.AfterSuccess(), interval, interval * 1.1);
        Assert.InRange(schedule.AfterFailure(1, null), interval * 2, interval * 2.1);
        Assert.True(schedule.First() < interval * 0.1);
    }

    [Fact]
    public void Jitter_differs_between_polls()
    {
        var schedule = new UsagePollSchedule(TimeSpan.FromMinutes(5), new Random(7).NextDouble);
        var waits = Enumerable.Range(0, 20).Select(_ => schedule.AfterSuccess()).ToHashSet();
        Assert.True(waits.Count > 10);
    }

    [Fact]
    public void Failures_back_off_exponentially_up_to_an_hour_and_retry_after_wins_when_longer()
    {
        var interval = TimeSpan.FromMinutes(1);
        var schedule = new UsagePollSchedule(interval, () => 0);

        Assert.Equal(TimeSpan.FromMinutes(2), schedule.AfterFailure(1, null));
        Assert.Equal(TimeSpan.FromMinutes(4), schedule.AfterFailure(2, null));
        Assert.Equal(TimeSpan.FromMinutes(32), schedule.AfterFailure(5, null));
        Assert.Equal(TimeSpan.FromHours(1), schedule.AfterFailure(7, null));
        Assert.Equal(TimeSpan.FromHours(1), schedule.AfterFailure(500, null));
        Assert.Equal(TimeSpan.FromMinutes(20), schedule.AfterFailure(1, TimeSpan.FromMinutes(20)));
        Assert.Equal(TimeSpan.FromMinutes(2), schedule.AfterFailure(1, TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.FromHours(24), schedule.AfterFailure(1, TimeSpan.FromDays(30)));
        // An interval longer than the cap is never shortened by backing off.
        Assert.Equal(TimeSpan.FromHours(2), new UsagePollSchedule(TimeSpan.FromHours(2), () => 0).AfterFailure(3, null));
    }
}
