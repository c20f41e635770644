using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Usage;

/// <summary>Usage windows travel from upstream response headers, streaming or not, to <c>GET /api/accounts</c> and through a restart.</summary>
public sealed class UsageWindowEndpointTests : IAsyncLifetime
{
    private const string MessageBody = """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";
    private const string StreamBody = """{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly string _directory = Directory.CreateTempSubdirectory("ccflare-usage-").FullName;
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task<CcflareTestHost> StartHostAsync(string? store = null) => CcflareTestHost.StartAsync(time: _time, build: store switch
    {
        "sqlite" => b => b.UseSqliteStorage(Path.Combine(_directory, "ccflare.db")),
        "litedb" => b => b.UseLiteDbStorage(Path.Combine(_directory, "ccflare.litedb")),
        _ => null,
    });

    private void ReportUsage(string key, IEnumerable<(string Name, string Value)> headers) =>
        _upstream.ScriptFor(key, (context, request) =>
        {
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }
            return FakeUpstream.DefaultAsync(context, request);
        });

    private static async Task<JsonElement> AccountAsync(CcflareTestHost host, string name)
    {
        var accounts = await host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
    }

    private static async Task SendAsync(CcflareTestHost host, string body)
    {
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Usage_read_from_a_response_is_shown_and_a_passed_reset_reads_as_fresh(bool streaming)
    {
        await using var host = await StartHostAsync();
        await host.AddAccountAsync("pref", "anthropic", "key-pref", _upstream.BaseUrl);
        var before = await AccountAsync(host, "pref");
        Assert.Equal(JsonValueKind.Null, before.GetProperty("usage").ValueKind);
        Assert.Equal(0, before.GetProperty("priority").GetInt32());

        ReportUsage("key-pref", UsageHeaderTests.ClaudeSubscriptionHeaders(_time.GetUtcNow()));
        await SendAsync(host, streaming ? StreamBody : MessageBody);

        var usage = (await AccountAsync(host, "pref")).GetProperty("usage");
        Assert.Equal(_time.GetUtcNow(), usage.GetProperty("updatedAt").GetDateTimeOffset());
        Assert.Equal("allowed_warning", usage.GetProperty("status").GetString());
        Assert.Equal("five_hour", usage.GetProperty("representativeClaim").GetString());
        Assert.Equal("rejected", usage.GetProperty("overage").GetProperty("status").GetString());
        var windows = usage.GetProperty("windows").EnumerateArray().ToArray();
        Assert.Equal(["five_hour", "seven_day", "seven_day_opus"], windows.Select(w => w.GetProperty("name").GetString()));
        Assert.Equal(300, windows[0].GetProperty("windowMinutes").GetInt32());
        Assert.Equal(0.97, windows[0].GetProperty("utilization").GetDouble());
        Assert.Equal(_time.GetUtcNow().AddHours(2), windows[0].GetProperty("resetsAt").GetDateTimeOffset());
        Assert.Equal("allowed_warning", windows[0].GetProperty("status").GetString());
        Assert.Equal(0.4, windows[1].GetProperty("utilization").GetDouble());

        _time.Advance(TimeSpan.FromHours(2));
        var fresh = (await AccountAsync(host, "pref")).GetProperty("usage").GetProperty("windows").EnumerateArray().ToArray();
        Assert.Equal(0, fresh[0].GetProperty("utilization").GetDouble());
        Assert.Equal(0.4, fresh[1].GetProperty("utilization").GetDouble());
    }

    [Fact]
    public async Task Missing_or_malformed_usage_headers_change_nothing_and_fail_nothing()
    {
        await using var host = await StartHostAsync();
        await host.AddAccountAsync("pref", "anthropic", "key-pref", _upstream.BaseUrl);
        ReportUsage("key-pref", UsageHeaderTests.ClaudeSubscriptionHeaders(_time.GetUtcNow()));
        await SendAsync(host, MessageBody);
        var known = (await AccountAsync(host, "pref")).GetProperty("usage").GetRawText();

        _time.Advance(TimeSpan.FromMinutes(1));
        ReportUsage("key-pref", [("anthropic-ratelimit-unified-5h-utilization", "n/a"), ("anthropic-ratelimit-unified-7d-reset", "tomorrow")]);
        await SendAsync(host, MessageBody);
        _upstream.ClearScript("key-pref");
        await SendAsync(host, StreamBody);

        Assert.Equal(known, (await AccountAsync(host, "pref")).GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Codex_windows_are_read_from_a_streamed_responses_answer()
    {
        await using var host = await StartHostAsync();
        await host.AddAccountAsync("chatgpt", "codex", "codex-token", _upstream.CodexBaseUrl);
        ReportUsage("codex-token",
        [
            ("x-codex-primary-used-percent", "62"), ("x-codex-primary-window-minutes", "300"), ("x-codex-primary-reset-after-seconds", "600"),
            ("x-codex-secondary-used-percent", "9"), ("x-codex-secondary-window-minutes", "10080"),
        ]);

        using (var response = await host.Client.PostAsync("/v1/codex/responses",
            new StringContent("""{"model":"gpt-5-codex","input":"Hi","stream":true,"store":false}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        var windows = (await AccountAsync(host, "chatgpt")).GetProperty("usage").GetProperty("windows").EnumerateArray().ToArray();
        Assert.Equal(["primary", "secondary"], windows.Select(w => w.GetProperty("name").GetString()));
        Assert.Equal(0.62, windows[0].GetProperty("utilization").GetDouble(), 6);
        Assert.Equal(_time.GetUtcNow().AddMinutes(10), windows[0].GetProperty("resetsAt").GetDateTimeOffset());
        Assert.Equal(10080, windows[1].GetProperty("windowMinutes").GetInt32());
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task Usage_survives_a_restart(string store)
    {
        string before;
        await using (var host = await StartHostAsync(store))
        {
            await host.AddAccountAsync("pref", "anthropic", "key-pref", _upstream.BaseUrl);
            ReportUsage("key-pref", UsageHeaderTests.ClaudeSubscriptionHeaders(_time.GetUtcNow()));
            await SendAsync(host, StreamBody);
            before = (await AccountAsync(host, "pref")).GetProperty("usage").GetRawText();
            Assert.Contains("five_hour", before, StringComparison.Ordinal);
        }

        await using (var host = await StartHostAsync(store))
        {
            Assert.Equal(before, (await AccountAsync(host, "pref")).GetProperty("usage").GetRawText());
        }
    }
}
