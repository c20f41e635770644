using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using Ccflare.Tests.History;
using Ccflare.Tests.Infrastructure;
using OpenAI.Chat;

namespace Ccflare.Tests.Providers;

/// <summary>What the built-in providers must get right on the wire, seen with real clients against the fake upstream.</summary>
public sealed class BuiltInProviderWireTests : IAsyncLifetime
{
    private const string OAuthToken = "sk-ant-oat01-subscription-token";
    private const string CodexToken = "codex-access-token-0001";

    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await AddOAuthAsync("max", "claude-code", OAuthToken, _upstream.BaseUrl);
        await AddOAuthAsync("chatgpt", "codex", CodexToken, _upstream.CodexBaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task AddOAuthAsync(string name, string provider, string token, string baseUrl)
    {
        using var response = await _host.Client.PostAsJsonAsync("/api/accounts", new { name, provider, auth_method = "oauth", access_token = token, base_url = baseUrl });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    // ------------------------------------------------------------ claude-code

    [Fact]
    public async Task Claude_code_oauth_requests_carry_the_oauth_beta_flag_even_when_the_client_sent_none()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/claude-code");

        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });

        var received = Assert.Single(_upstream.Received);
        Assert.Equal("Bearer " + OAuthToken, received.Header("authorization"));
        Assert.Null(received.Header("x-api-key"));
        Assert.Equal("oauth-2025-04-20", received.Header("anthropic-beta"));
    }

    [Theory]
    [InlineData("prompt-caching-2024-07-31", "oauth-2025-04-20,prompt-caching-2024-07-31")]
    [InlineData("oauth-2025-04-20", "oauth-2025-04-20")]
    [InlineData("claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14", "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14")]
    [InlineData("fine-grained-tool-streaming-2025-05-14, oauth-2025-04-20, fine-grained-tool-streaming-2025-05-14", "fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20")]
    public async Task Claude_code_merges_the_oauth_flag_with_the_client_flags_without_duplicates(string clientFlags, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/claude-code/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        request.Headers.TryAddWithoutValidation("anthropic-beta", clientFlags);

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, Assert.Single(_upstream.Received).Header("anthropic-beta"));
    }

    [Fact]
    public async Task Claude_code_api_key_accounts_get_no_oauth_flag()
    {
        await _host.AddAccountAsync("console-key", "anthropic", "sk-ant-api-key-1", _upstream.BaseUrl);
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");

        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });

        var received = Assert.Single(_upstream.Received);
        Assert.Equal("sk-ant-api-key-1", received.Header("x-api-key"));
        Assert.Null(received.Header("anthropic-beta"));
    }

    // ------------------------------------------------------------ codex

#pragma warning disable OPENAI001 // The Responses client is marked experimental in the SDK.
    [Fact]
    public async Task Codex_native_non_streaming_request_is_sent_streaming_and_answered_with_the_final_response()
    {
        var responses = SdkClients.OpenAI(_host.BaseUrl + "/v1/codex").GetResponsesClient();

        var result = await responses.CreateResponseAsync("gpt-5-codex", "Hi");

        Assert.Equal("Hello from fake", result.Value.GetOutputText());
        Assert.Equal(9, result.Value.Usage.InputTokenCount);
        Assert.Equal(3, result.Value.Usage.OutputTokenCount);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/backend-api/codex/responses", received.Path);
        Assert.Equal("Bearer " + CodexToken, received.Header("authorization"));
        var body = JsonNode.Parse(received.Body)!;
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.False(body["store"]!.GetValue<bool>());
        Assert.Equal("gpt-5-codex", body["model"]!.GetValue<string>());

        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        Assert.Equal(200, row.Long("statusCode"));
        Assert.Equal(9, row.Long("inputTokens") ?? row.Long("promptTokens"));
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task Codex_native_streaming_request_already_in_shape_passes_untouched()
    {
        const string body = """{"model":"gpt-5-codex","input":"Hi","stream":true,"store":false}""";
        using var response = await _host.Client.PostAsync("/v1/codex/responses", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("response.completed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(body, Assert.Single(_upstream.Received).Body);
    }

    [Fact]
    public async Task Codex_through_compat_chat_non_streaming_is_sent_streaming_and_answered_with_usage()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/ccflare/openai").GetChatClient("openai/gpt-5-codex");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal("Hello from fake", completion.Content[0].Text);
        Assert.Equal(9, completion.Usage.InputTokenCount);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/backend-api/codex/responses", received.Path);
        var body = JsonNode.Parse(received.Body)!;
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.False(body["store"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Codex_through_compat_responses_non_streaming_gets_the_assembled_response_object()
    {
        using var response = await _host.Client.PostAsync("/v1/ccflare/openai/responses",
            new StringContent("""{"model":"openai/gpt-5-codex","input":"Hi"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var result = await HistoryApi.JsonAsync(response);
        Assert.Equal("response", result.Str("object"));
        Assert.Equal("completed", result.Str("status"));
        Assert.Equal(9, result.GetProperty("usage").GetProperty("input_tokens").GetInt64());
        Assert.Contains("Hello from fake", result.GetProperty("output").GetRawText(), StringComparison.Ordinal);
        var body = JsonNode.Parse(Assert.Single(_upstream.Received).Body)!;
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.False(body["store"]!.GetValue<bool>());
        Assert.Equal("gpt-5-codex", body["model"]!.GetValue<string>());
    }

    // ------------------------------------------------------------ Claude Code's start-up probe

    [Theory]
    [InlineData("/v1/claude-code")]
    [InlineData("/v1/anthropic/")]
    [InlineData("/v1/ccflare/anthropic")]
    public async Task The_base_url_probe_is_answered_by_ccflare_and_neither_forwarded_nor_recorded(string path)
    {
        using var response = await _host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Empty(_upstream.Received);
        Assert.Empty(await HistoryApi.RequestsAsync(_host));
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/accounts");
        Assert.All(accounts!, a => Assert.Equal(0, a.GetProperty("totalRequests").GetInt64()));
    }
}
