using System.Net;
using System.Text;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Proxy;

public sealed class HeaderForwardingTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await _host.AddAccountAsync("ant", "anthropic", "sk-ant-account", _upstream.BaseUrl);
        await _host.AddAccountAsync("oai", "openai", "sk-oai-account", _upstream.OpenAIBaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Client_credentials_are_replaced_and_other_headers_and_query_pass()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages?beta=true&x=1%202")
        {
            Content = new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", "client-secret-key");
        request.Headers.Add("Authorization", "Bearer client-secret-token");
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add("anthropic-beta", "prompt-caching-2024-07-31");
        request.Headers.Add("x-ccflare-user-id", "spoofed");
        request.Headers.Add("openai-beta", "assistants=v2");
        request.Headers.Add("x-custom-trace", "abc");
        request.Headers.UserAgent.ParseAdd("my-agent/1.0");

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("?beta=true&x=1%202", received.QueryString);
        Assert.Equal("sk-ant-account", received.Header("x-api-key"));
        Assert.Null(received.Header("authorization"));
        Assert.Equal("2023-06-01", received.Header("anthropic-version"));
        Assert.Equal("prompt-caching-2024-07-31", received.Header("anthropic-beta"));
        Assert.Equal("abc", received.Header("x-custom-trace"));
        Assert.Equal("my-agent/1.0", received.Header("user-agent"));
        Assert.Null(received.Header("x-ccflare-user-id"));
        Assert.Null(received.Header("openai-beta"));
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains("client-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenAI_routes_get_a_bearer_and_lose_anthropic_headers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4.1","messages":[]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-secret-token");
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add("OpenAI-Beta", "responses=v1");

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("Bearer sk-oai-account", received.Header("authorization"));
        Assert.Null(received.Header("x-api-key"));
        Assert.Null(received.Header("anthropic-version"));
        Assert.Equal("responses=v1", received.Header("openai-beta"));
    }

    [Fact]
    public async Task Upstream_status_headers_and_body_come_back_unchanged()
    {
        _upstream.Override = async (context, _) =>
        {
            context.Response.StatusCode = 418;
            context.Response.Headers["x-request-id"] = "req_123";
            context.Response.Headers["anthropic-ratelimit-unified-status"] = "allowed";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"teapot":true}""");
        };

        using var response = await _host.Client.GetAsync("/v1/anthropic/v1/models?limit=2");

        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("req_123", response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("""{"teapot":true}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("GET", Assert.Single(_upstream.Received).Method);
    }

    [Fact]
    public async Task Unknown_provider_is_a_404_json_error()
    {
        using var response = await _host.Client.PostAsync("/v1/mistral/v1/chat", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Unknown provider", await response.Content.ReadAsStringAsync());
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Oversized_body_is_a_413_json_error()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.MaxRequestBodyBytes = 1024);
        await host.AddAccountAsync("ant", "anthropic", "k", _upstream.BaseUrl);

        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(new string('x', 4096), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("exceeds the limit of 1024 bytes", await response.Content.ReadAsStringAsync());
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("/v1/codex/%2e%2e/%2e%2e/admin")]
    [InlineData("/v1/codex/a/..%2F..%2Fadmin")]
    [InlineData("/v1/codex/%252e%252e/admin")]
    [InlineData("/v1/codex/..\\..\\admin")]
    [InlineData("/v1/codex//evil.example/admin")]
    [InlineData("/v1/codex/./responses")]
    public async Task Path_tricks_never_leave_the_account_base_url(string path)
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("codex-key", "openai", "k", _upstream.OpenAIBaseUrl);
        using (var add = await host.Client.PostAsync("/api/accounts", new StringContent(
            $$"""{"name":"cx","provider":"codex","auth_method":"oauth","access_token":"tok","base_url":"{{_upstream.CodexBaseUrl}}"}""", Encoding.UTF8, "application/json")))
        {
            add.EnsureSuccessStatusCode();
        }

        var status = await RawHttp.SendAsync(new Uri(host.BaseUrl), $"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        Assert.True(status is 400 or 404 or 200, $"{path} -> {status}");
        Assert.All(_upstream.Received, r => Assert.StartsWith("/backend-api/codex/", r.Path, StringComparison.Ordinal));
        Assert.DoesNotContain(_upstream.Received, r => r.Path.Contains("..", StringComparison.Ordinal) || r.Path.Contains("evil", StringComparison.Ordinal));
    }
}
