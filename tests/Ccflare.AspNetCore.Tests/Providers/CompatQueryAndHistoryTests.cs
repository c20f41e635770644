using System.Net;
using System.Text;
using Ccflare.Tests.History;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Providers;

/// <summary>The compat route keeps one family's query parameters away from the other, and records what the answering attempt did.</summary>
public sealed class CompatQueryAndHistoryTests : IAsyncLifetime
{
    private const string MessagesBody = """{"model":"openai/gpt-4.1","max_tokens":20,"messages":[{"role":"user","content":"Hi"}]}""";

    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<HttpResponseMessage> PostMessagesAsync(string model) =>
        _host.Client.PostAsync("/v1/ccflare/anthropic/v1/messages?beta=true",
            new StringContent(MessagesBody.Replace("openai/gpt-4.1", model, StringComparison.Ordinal), Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Anthropic_query_parameters_do_not_reach_an_openai_upstream()
    {
        await _host.AddAccountAsync("oai", "openai", "sk-openai-1", _upstream.OpenAIBaseUrl);

        using var response = await PostMessagesAsync("openai/gpt-4.1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("", received.QueryString);
        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        Assert.Equal("/chat/completions", row.Str("upstreamPath"));
        Assert.Equal("openai", row.Str("provider"));
    }

    [Fact]
    public async Task Anthropic_query_parameters_stay_with_an_anthropic_upstream()
    {
        await _host.AddAccountAsync("ant", "anthropic", "sk-ant-1", _upstream.BaseUrl);

        using var response = await PostMessagesAsync("anthropic/claude-sonnet-4-5");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("?beta=true", Assert.Single(_upstream.Received).QueryString);
        Assert.Equal("/v1/messages?beta=true", Assert.Single(await HistoryApi.RequestsAsync(_host)).Str("upstreamPath"));
    }

    [Fact]
    public async Task History_records_the_path_and_provider_of_the_attempt_that_answered()
    {
        using (var add = await _host.Client.PostAsync("/api/accounts", new StringContent(
            $$"""{"name":"cx","provider":"codex","auth_method":"oauth","access_token":"codex-down","base_url":"{{_upstream.CodexBaseUrl}}"}""", Encoding.UTF8, "application/json")))
        {
            add.EnsureSuccessStatusCode();
        }
        await _host.AddAccountAsync("oai", "openai", "sk-openai-1", _upstream.OpenAIBaseUrl);
        _upstream.ScriptFor("codex-down", (context, _) => FakeUpstream.WriteJsonAsync(context, 503, """{"error":{"message":"overloaded"}}"""));

        using var response = await PostMessagesAsync("openai/gpt-4.1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["/backend-api/codex/responses", "/v1/chat/completions"], _upstream.Received.Select(r => r.Path));
        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        Assert.Equal("openai", row.Str("provider"));
        Assert.Equal("/chat/completions", row.Str("upstreamPath"));
        Assert.Equal(1, row.Long("failoverAttempts"));
    }
}
