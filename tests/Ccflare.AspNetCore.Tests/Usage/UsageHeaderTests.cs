using System.Globalization;
using System.Net;
using Ccflare.Providers;

namespace Ccflare.Tests.Usage;

/// <summary>Each provider reads its own usage headers into <see cref="AccountUsage"/>.</summary>
public sealed class UsageHeaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProviderRegistry Providers = new(new Dictionary<string, ProviderOptions>());

    private static string Epoch(TimeSpan fromNow) => (Now + fromNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>The unified headers a Claude subscription account's response carries (a Max plan near its five-hour limit).</summary>
    internal static IReadOnlyList<(string Name, string Value)> ClaudeSubscriptionHeaders(DateTimeOffset now) =>
    [
        ("anthropic-ratelimit-unified-status", "allowed_warning"),
        ("anthropic-ratelimit-unified-reset", (now + TimeSpan.FromHours(2)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
        ("anthropic-ratelimit-unified-5h-status", "allowed_warning"),
        ("anthropic-ratelimit-unified-5h-reset", (now + TimeSpan.FromHours(2)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        ("anthropic-ratelimit-unified-5h-utilization", "0.97"),
        ("anthropic-ratelimit-unified-7d-status", "allowed"),
        ("anthropic-ratelimit-unified-7d-reset", (now + TimeSpan.FromDays(3)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        ("anthropic-ratelimit-unified-7d-utilization", "0.4"),
        ("anthropic-ratelimit-unified-7d_opus-status", "allowed"),
        ("anthropic-ratelimit-unified-7d_opus-utilization", "0.12"),
        ("anthropic-ratelimit-unified-overage-status", "rejected"),
        ("anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled"),
        ("anthropic-ratelimit-unified-fallback-percentage", "0.5"),
    ];

    private static AccountUsage? Read(string provider, params IEnumerable<(string Name, string Value)> headers)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        return Providers.Find(provider)!.ReadAccountFeedback(200, response.Headers, Now).Usage;
    }

    [Theory]
    [InlineData("claude-code")]
    [InlineData("anthropic")]
    public void Anthropic_family_reads_every_unified_window(string provider)
    {
        var usage = Read(provider, ClaudeSubscriptionHeaders(Now));

        Assert.NotNull(usage);
        Assert.Equal(Now, usage.UpdatedAt);
        Assert.Equal("allowed_warning", usage.Status);
        Assert.Equal(Now.AddHours(2), usage.ResetsAt);
        Assert.Equal("five_hour", usage.RepresentativeClaim);
        Assert.Equal(
            [
                new UsageWindow("five_hour", 300, 0.97, Now.AddHours(2), "allowed_warning"),
                new UsageWindow("seven_day", 10080, 0.4, Now.AddDays(3), "allowed"),
                new UsageWindow("seven_day_opus", 10080, 0.12, null, "allowed"),
            ],
            usage.Windows);
        Assert.Equal(new UsageOverage("rejected", null), usage.Overage);
        Assert.Equal(0.5, usage.FallbackPercentage);
    }

    [Theory]
    [InlineData("5h", "five_hour", 300)]
    [InlineData("7d", "seven_day", 10080)]
    [InlineData("7d_opus", "seven_day_opus", 10080)]
    [InlineData("7d_sonnet", "seven_day_sonnet", 10080)]
    [InlineData("1h", "one_hour", 60)]
    [InlineData("30d", "30_day", 43200)]
    [InlineData("weird", "weird", null)]
    public void Window_keys_are_named_like_the_usage_endpoint(string key, string name, int? minutes) =>
        Assert.Equal((name, minutes), AnthropicProvider.WindowName(key));

    [Fact]
    public void Malformed_anthropic_values_are_left_out()
    {
        var usage = Read("claude-code",
            ("anthropic-ratelimit-unified-5h-utilization", "abc"),
            ("anthropic-ratelimit-unified-5h-reset", "soon"),
            ("anthropic-ratelimit-unified-7d-utilization", "-0.2"),
            ("anthropic-ratelimit-unified-7d_opus-utilization", "NaN"),
            ("anthropic-ratelimit-unified-7d_sonnet-utilization", "1.7"),
            ("anthropic-ratelimit-unified-fallback-percentage", "x"));

        Assert.NotNull(usage);
        // Only the over-full window survives, capped at 1; nothing else was readable.
        Assert.Equal([new UsageWindow("seven_day_sonnet", 10080, 1, null, null)], usage.Windows);
        Assert.Null(usage.Status);
        Assert.Null(usage.FallbackPercentage);
    }

    [Theory]
    [InlineData("claude-code")]
    [InlineData("codex")]
    [InlineData("openai")]
    public void A_response_without_usage_headers_reads_as_nothing(string provider) =>
        Assert.Null(Read(provider, ("x-ratelimit-remaining-requests", "10"), ("anthropic-ratelimit-unified-5h-utilization", "bad")));

    [Fact]
    public void OpenAI_api_key_accounts_report_no_windows() =>
        Assert.Null(Read("openai", ("x-codex-primary-used-percent", "50")));

    [Fact]
    public void Codex_reads_primary_and_secondary_windows_as_fractions()
    {
        var usage = Read("codex",
            ("x-codex-primary-used-percent", "35"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-after-seconds", "1200"),
            ("x-codex-secondary-used-percent", "100"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-at", Epoch(TimeSpan.FromDays(2))),
            ("x-codex-primary-over-secondary-limit-percent", "0"));

        Assert.NotNull(usage);
        Assert.Equal(
            [
                new UsageWindow("primary", 300, 0.35, Now.AddSeconds(1200), "allowed"),
                new UsageWindow("secondary", 10080, 1, Now.AddDays(2), "rejected"),
            ],
            usage.Windows);
        Assert.Equal("rejected", usage.Status);
        // The overall refusal lasts until the spent window resets, so it expires by the clock like a window does.
        Assert.Equal(Now.AddDays(2), usage.ResetsAt);
        Assert.Equal("allowed", usage.AsOf(Now.AddDays(2)).Status);
    }

    [Fact]
    public void Malformed_codex_values_are_left_out()
    {
        var usage = Read("codex",
            ("x-codex-primary-used-percent", "lots"),
            ("x-codex-primary-window-minutes", "-5"),
            ("x-codex-primary-reset-after-seconds", "later"),
            ("x-codex-secondary-used-percent", "12.5"));

        Assert.NotNull(usage);
        Assert.Equal([new UsageWindow("secondary", null, 0.125, null, "allowed")], usage.Windows);
    }

    [Fact]
    public void A_window_past_its_reset_reads_as_fresh()
    {
        var usage = Read("claude-code", ClaudeSubscriptionHeaders(Now))!;

        Assert.Same(usage, usage.AsOf(Now.AddHours(1)));
        var later = usage.AsOf(Now.AddHours(2));
        Assert.Equal(new UsageWindow("five_hour", 300, 0, null, "allowed"), later.Window("five_hour"));
        Assert.Equal(usage.Window("seven_day"), later.Window("seven_day"));
        Assert.Equal("allowed", later.Status);
        Assert.Null(later.ResetsAt);
    }

    [Fact]
    public void A_later_reading_replaces_its_windows_and_keeps_the_others()
    {
        var first = Read("claude-code", ClaudeSubscriptionHeaders(Now))!;
        var second = new AccountUsage { UpdatedAt = Now.AddMinutes(1), Windows = [new UsageWindow("five_hour", 300, 0.99, Now.AddHours(2), "allowed_warning")] };

        var merged = first.MergeWith(second);

        Assert.Equal(Now.AddMinutes(1), merged.UpdatedAt);
        Assert.Equal(["five_hour", "seven_day", "seven_day_opus"], merged.Windows.Select(w => w.Name));
        Assert.Equal(0.99, merged.Window("five_hour")!.Utilization);
        Assert.Equal("allowed_warning", merged.Status);
        Assert.Equal("five_hour", merged.RepresentativeClaim);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("""{"windows":[]}""")]
    public void Unreadable_stored_usage_loads_as_none(string? stored) => Assert.Null(AccountUsage.Deserialize(stored));

    [Fact]
    public void Stored_usage_round_trips()
    {
        var usage = Read("claude-code", ClaudeSubscriptionHeaders(Now))!;
        Assert.Equal(usage, AccountUsage.Deserialize(AccountUsage.Serialize(usage)));
    }

    [Fact]
    public void Instances_sharing_a_store_keep_the_later_usage_reading()
    {
        var older = Read("claude-code", ClaudeSubscriptionHeaders(Now))!;
        var newer = older with { UpdatedAt = Now.AddMinutes(1), Windows = [new UsageWindow("five_hour", 300, 0.99, Now.AddHours(2), "allowed_warning")] };
        var live = new Account { Id = "a", Name = "a", Provider = "claude-code", Usage = older };

        Assert.Equal(newer, Ccflare.Accounts.AccountRegistry.WithReplicatedState(live, live with { Usage = newer }).Usage);
        Assert.Equal(newer, Ccflare.Accounts.AccountRegistry.WithReplicatedState(live with { Usage = newer }, live).Usage);
        Assert.Equal(older, Ccflare.Accounts.AccountRegistry.WithReplicatedState(live, live with { Usage = null }).Usage);
    }
}
