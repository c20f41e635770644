using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Proxy;

public sealed class FailoverTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
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

    private async Task<HttpResponseMessage> SendMessageAsync() =>
        await _host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

    private int CountFor(string key) => _upstream.Received.Count(r => r.Credential == key);

    [Fact]
    public async Task Rate_limited_account_is_skipped_until_its_reset()
    {
        var reset = _time.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""",
            new Dictionary<string, string> { ["anthropic-ratelimit-unified-status"] = "rejected", ["anthropic-ratelimit-unified-reset"] = reset }));

        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(1, CountFor("key-1"));
        Assert.Equal(1, CountFor("key-2"));

        await _host.DrainHistoryAsync();
        var record = Assert.Single(await _host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(5, false, default));
        Assert.Equal(1, record.FailoverAttempts);
        Assert.Equal("second", record.AccountName);

        _upstream.ClearScript("key-1");
        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(1, CountFor("key-1"));
        Assert.Equal(2, CountFor("key-2"));

        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        var first = accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "first");
        Assert.True(first.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean());
        Assert.Equal("rejected", first.GetProperty("rateLimitStatus").GetProperty("code").GetString());

        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(2, CountFor("key-1"));
    }

    [Theory]
    [InlineData(529)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Overloaded_and_server_errors_fail_over(int status)
    {
        _upstream.ScriptFor("key-1", (context, _) => FakeUpstream.WriteJsonAsync(context, status, """{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"""));

        using var response = await SendMessageAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, CountFor("key-1"));
        Assert.Equal(1, CountFor("key-2"));
    }

    [Fact]
    public async Task Connection_failure_fails_over()
    {
        var deadPort = FreeTcpPort();
        var id = (await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts")).EnumerateArray().First().GetProperty("id").GetString();
        using var patch = await _host.Client.PatchAsJsonAsync($"/api/accounts/{id}", new { base_url = $"http://127.0.0.1:{deadPort}" });
        patch.EnsureSuccessStatusCode();

        using var response = await SendMessageAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, CountFor("key-2"));
    }

    [Fact]
    public async Task All_accounts_limited_returns_503_json()
    {
        foreach (var key in new[] { "key-1", "key-2" })
        {
            _upstream.ScriptFor(key, (context, _) => FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""",
                new Dictionary<string, string> { ["retry-after"] = "120" }));
        }

        using (var first = await SendMessageAsync())
        {
            // The last account's own error goes back to the client unchanged.
            Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
            Assert.Contains("rate_limit_error", await first.Content.ReadAsStringAsync());
        }

        using var response = await SendMessageAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("No anthropic account", body.GetProperty("error").GetString());
        Assert.Equal(2, _upstream.Received.Count);

        _time.Advance(TimeSpan.FromSeconds(121));
        _upstream.ClearScript("key-1");
        using var recovered = await SendMessageAsync();
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task Paused_accounts_are_never_selected()
    {
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        foreach (var account in accounts.EnumerateArray())
        {
            using var pause = await _host.Client.PostAsync($"/api/accounts/{account.GetProperty("id").GetString()}/pause", null);
            pause.EnsureSuccessStatusCode();
        }

        using var response = await SendMessageAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Usage_counters_and_session_are_updated()
    {
        using (var response = await SendMessageAsync())
        {
            response.EnsureSuccessStatusCode();
        }
        using (var response = await SendMessageAsync())
        {
            response.EnsureSuccessStatusCode();
        }

        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        var first = accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "first");
        Assert.Equal(2, first.GetProperty("requestCount").GetInt64());
        Assert.Equal(2, first.GetProperty("totalRequests").GetInt64());
        Assert.Equal(_time.GetUtcNow(), first.GetProperty("lastUsed").GetDateTimeOffset());
        Assert.True(first.GetProperty("sessionInfo").GetProperty("active").GetBoolean());
        Assert.Equal(2, first.GetProperty("sessionInfo").GetProperty("requestCount").GetInt64());
        Assert.Equal(0, CountFor("key-2"));
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
