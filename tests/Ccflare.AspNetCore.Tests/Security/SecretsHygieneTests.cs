using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Management;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Security;

public sealed class SecretsHygieneTests : IAsyncLifetime
{
    private const string FailingKey = "sk-ant-SECRET-failing-account-0001";
    private const string UnreachableKey = "sk-ant-SECRET-unreachable-account-0002";
    private const string GoodKey = "sk-ant-SECRET-good-account-0003";
    private const string OpenAIKey = "sk-proj-SECRET-openai-account-0004";
    private const string AdminToken = "SECRET-admin-token-0123456789";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task Secrets_never_appear_in_logs_api_responses_stored_records_or_metric_tags()
    {
        var logs = new CapturingLoggerProvider();
        var tags = new ConcurrentQueue<string>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Ccflare")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, _, t, _) => Collect(t));
        meters.SetMeasurementEventCallback<double>((_, _, t, _) => Collect(t));
        meters.SetMeasurementEventCallback<int>((_, _, t, _) => Collect(t));
        meters.Start();
        void Collect(ReadOnlySpan<KeyValuePair<string, object?>> measurementTags)
        {
            foreach (var (key, value) in measurementTags)
            {
                tags.Enqueue(key + "=" + value);
            }
        }

        _upstream.ScriptFor(FailingKey, (context, _) => FakeUpstream.WriteJsonAsync(context, 529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""));
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.RequireAccessKeys = true;
            o.AdminToken = AdminToken;
            o.LbStrategy = "round-robin";
        }, host: b =>
        {
            b.Logging.AddProvider(logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        });
        await host.AddAccountAsync("failing", "anthropic", FailingKey, _upstream.BaseUrl);
        await host.AddAccountAsync("unreachable", "anthropic", UnreachableKey, $"http://127.0.0.1:{ClosedPort()}");
        await host.AddAccountAsync("good", "anthropic", GoodKey, _upstream.BaseUrl);
        await host.AddAccountAsync("openai", "openai", OpenAIKey, _upstream.OpenAIBaseUrl);
        using var created = await host.Client.PostAsJsonAsync("/api/users", new { name = "alice" });
        var createdBody = await created.Content.ReadAsStringAsync();
        var userKey = JsonDocument.Parse(createdBody).RootElement.GetProperty("key").GetString()!;
        var wrongKey = Ccflare.Security.AccessKeys.Generate();

        for (var i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
            {
                Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add(i % 2 == 0 ? "x-api-key" : "authorization", i % 2 == 0 ? userKey : "Bearer " + userKey);
            request.Headers.Add("anthropic-version", "2023-06-01");
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = JsonContent.Create(new { model = "gpt-4.1", messages = Array.Empty<object>() }) })
        {
            request.Headers.Add("authorization", "Bearer " + userKey);
            (await host.Client.SendAsync(request)).Dispose();
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = new StringContent("{}") })
        {
            request.Headers.Add("x-api-key", wrongKey);
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(request)).StatusCode);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/accounts"))
        {
            request.Headers.Add("authorization", "Bearer " + AdminToken);
            (await host.Client.SendAsync(request)).Dispose();
        }
        await host.DrainHistoryAsync();

        var secrets = new string[] { FailingKey, UnreachableKey, GoodKey, OpenAIKey, userKey, wrongKey, AdminToken };

        // Logs (every level, state values and exceptions included).
        var logText = logs.AllText();
        Assert.Contains("failing over", logText, StringComparison.OrdinalIgnoreCase);
        AssertFree(logText, secrets, "logs");

        // Management responses (the creation response is the one place the new user key appears, once).
        var apiText = new StringBuilder();
        foreach (var path in new[] { "/api/accounts", "/api/requests?limit=100", "/api/users", "/api/config", "/api/strategies", "/health", "/api/requests/detail?limit=100", "/api/stats" })
        {
            using var response = await host.Client.GetAsync(path);
            apiText.Append(await response.Content.ReadAsStringAsync());
        }
        AssertFree(apiText.ToString(), secrets, "/api responses");
        AssertFree(createdBody, secrets.Where(s => s != userKey), "user creation response");

        // Stored records and payloads (bodies decoded, headers masked).
        var records = await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(100, includePayloads: true, default);
        Assert.NotEmpty(records);
        var stored = new StringBuilder(JsonSerializer.Serialize(records));
        foreach (var record in records)
        {
            if (record.Payload is { } payload)
            {
                stored.Append(string.Join("\n", payload.RequestHeaders.Select(h => h.Key + ": " + h.Value)));
                stored.Append(string.Join("\n", payload.ResponseHeaders.Select(h => h.Key + ": " + h.Value)));
                stored.Append(payload.RequestBody is null ? "" : Encoding.UTF8.GetString(payload.RequestBody));
                stored.Append(payload.ResponseBody is null ? "" : Encoding.UTF8.GetString(payload.ResponseBody));
            }
        }
        Assert.Contains(records, r => r.Payload?.RequestHeaders.ContainsKey("x-api-key") == true);
        AssertFree(stored.ToString(), secrets, "stored records");

        // Metric tags.
        meters.RecordObservableInstruments();
        Assert.NotEmpty(tags);
        AssertFree(string.Join("\n", tags), secrets, "metric tags");
    }

    private static void AssertFree(string text, IEnumerable<string> secrets, string where)
    {
        foreach (var secret in secrets)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"a secret leaked into {where}");
            // Not even the part after a short masked prefix.
            Assert.False(text.Contains(secret[8..], StringComparison.Ordinal), $"part of a secret leaked into {where}");
        }
    }

    [Theory]
    [InlineData("ftp://example.com")]
    [InlineData("javascript:alert(1)")]
    [InlineData("/relative/path")]
    [InlineData("example.com")]
    [InlineData("http://user:password@example.com")]
    [InlineData("http://example.com/?q=1")]
    [InlineData("http://example.com/#frag")]
    [InlineData("file:///etc/passwd")]
    [InlineData("")]
    public async Task Base_url_must_be_an_absolute_http_url(string baseUrl)
    {
        Assert.NotNull(AccountRules.ValidateBaseUrl(baseUrl));
        await using var host = await CcflareTestHost.StartAsync();
        using var create = await host.Client.PostAsJsonAsync("/api/accounts", new { name = "x", provider = "anthropic", api_key = "sk-ant-0123456789", base_url = baseUrl });
        Assert.Equal(HttpStatusCode.BadRequest, create.StatusCode);
        ErrorJson.AssertError(await create.Content.ReadAsStringAsync());
        Assert.Empty(await host.Services.GetRequiredService<ICcflareStore>().GetAccountsAsync(default));

        var id = await host.AddAccountAsync("ok", "anthropic", "sk-ant-0123456789", "https://api.example.com");
        using var patch = await host.Client.PatchAsJsonAsync($"/api/accounts/{id}", new { base_url = baseUrl });
        if (baseUrl.Length > 0)
        {
            Assert.Equal(HttpStatusCode.BadRequest, patch.StatusCode);
        }
        Assert.Equal(baseUrl.Length > 0 ? "https://api.example.com" : null, (await host.Services.GetRequiredService<ICcflareStore>().GetAccountsAsync(default)).Single().BaseUrl);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("https://api.anthropic.com")]
    [InlineData("https://example.com/base/path")]
    public void Valid_base_urls_pass(string baseUrl) => Assert.Null(AccountRules.ValidateBaseUrl(baseUrl));
}
