using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Management;

/// <summary>
/// <c>GET /api/accounts</c>'s <c>nearLimit</c>, <c>nearLimitWindow</c> and <c>headroom</c>: read from real
/// proxied responses, decided with the configured switch threshold, and fresh again once the window resets.
/// </summary>
public sealed class AccountNearLimitTests : IAsyncLifetime
{
    private const string Key = "sk-ant-near-limit";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<JsonElement> AccountAfterResponseAsync(CcflareTestHost host, params (string Name, string Value)[] headers)
    {
        await host.AddAccountAsync("sub", "anthropic", Key, _upstream.BaseUrl);
        _upstream.ScriptFor(Key, (context, request) =>
        {
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }
            return FakeUpstream.DefaultAsync(context, request);
        });
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
            """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        return await AccountAsync(host);
    }

    private static async Task<JsonElement> AccountAsync(CcflareTestHost host) =>
        (await host.Client.GetFromJsonAsync<JsonElement>("/api/accounts")).EnumerateArray().Single();

    private string InHours(double hours) => _time.GetUtcNow().AddHours(hours).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task An_account_without_usage_is_not_near_its_limit_and_has_no_headroom()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);
        await host.AddAccountAsync("fresh", "anthropic", Key, _upstream.BaseUrl);

        var account = await AccountAsync(host);

        Assert.False(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("nearLimitWindow").ValueKind);
        Assert.Equal(JsonValueKind.Null, account.GetProperty("headroom").ValueKind);
    }

    [Fact]
    public async Task A_full_window_makes_the_account_near_its_limit_until_it_resets()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);

        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-5h-utilization", "0.97"), ("anthropic-ratelimit-unified-5h-reset", InHours(1)),
            ("anthropic-ratelimit-unified-7d-utilization", "0.4"), ("anthropic-ratelimit-unified-7d-reset", InHours(72)));

        Assert.True(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal("five_hour", account.GetProperty("nearLimitWindow").GetString());
        Assert.Equal(0.03, account.GetProperty("headroom").GetDouble());

        _time.Advance(TimeSpan.FromHours(1));
        account = await AccountAsync(host);
        Assert.False(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("nearLimitWindow").ValueKind);
        Assert.Equal(0.6, account.GetProperty("headroom").GetDouble()); // five_hour reads as fresh; seven_day binds
    }

    [Fact]
    public async Task The_configured_threshold_decides()
    {
        await using var host = await CcflareTestHost.StartAsync(options => options.Usage.SwitchAtUtilization = 0.9, time: _time);

        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-5h-utilization", "0.92"), ("anthropic-ratelimit-unified-5h-reset", InHours(1)));

        Assert.True(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal(0.08, account.GetProperty("headroom").GetDouble());
    }

    [Fact]
    public async Task Below_the_default_threshold_the_account_has_headroom()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);

        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-5h-utilization", "0.92"), ("anthropic-ratelimit-unified-5h-reset", InHours(1)));

        Assert.False(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal(0.08, account.GetProperty("headroom").GetDouble());
    }

    [Fact]
    public async Task A_full_family_window_is_named_but_leaves_the_headroom_of_the_other_windows()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);

        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-5h-utilization", "0.2"), ("anthropic-ratelimit-unified-5h-reset", InHours(3)),
            ("anthropic-ratelimit-unified-7d_opus-utilization", "1.0"), ("anthropic-ratelimit-unified-7d_opus-status", "rejected"),
            ("anthropic-ratelimit-unified-7d_opus-reset", InHours(48)));

        Assert.True(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal("seven_day_opus", account.GetProperty("nearLimitWindow").GetString());
        Assert.Equal(0.8, account.GetProperty("headroom").GetDouble());
    }

    [Fact]
    public async Task A_rejected_status_leaves_no_headroom()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);

        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-status", "rejected"), ("anthropic-ratelimit-unified-reset", InHours(2)),
            ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
            ("anthropic-ratelimit-unified-5h-utilization", "0.5"), ("anthropic-ratelimit-unified-5h-reset", InHours(2)));

        Assert.True(account.GetProperty("nearLimit").GetBoolean());
        Assert.Equal("five_hour", account.GetProperty("nearLimitWindow").GetString());
        Assert.Equal(0, account.GetProperty("headroom").GetDouble());
    }

    [Fact]
    public async Task Patch_answers_with_the_same_fields()
    {
        await using var host = await CcflareTestHost.StartAsync(time: _time);
        var account = await AccountAfterResponseAsync(host,
            ("anthropic-ratelimit-unified-5h-utilization", "0.99"), ("anthropic-ratelimit-unified-5h-reset", InHours(1)));

        using var response = await host.Client.PatchAsJsonAsync($"/api/accounts/{account.GetProperty("id").GetString()}", new { priority = 2 });
        response.EnsureSuccessStatusCode();
        var changed = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("account");

        Assert.Equal(2, changed.GetProperty("priority").GetInt32());
        Assert.True(changed.GetProperty("nearLimit").GetBoolean());
        Assert.Equal(0.01, changed.GetProperty("headroom").GetDouble());
    }
}
