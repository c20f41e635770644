using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using OpenAI.Chat;

#pragma warning disable OPENAI001 // The Responses client is marked experimental.

namespace Ccflare.Tests.History;

/// <summary>Official SDKs through Ccflare: history shows model, tokens, cost and account; details are masked.</summary>
public sealed class SdkHistoryTests : IAsyncLifetime
{
    private const string AnthropicKey = "sk-ant-account-secret-0001";
    private const string OpenAIKey = "sk-openai-account-secret-0001";
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;
    private string _anthropicId = null!;
    private string _openaiId = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        _anthropicId = await _host.AddAccountAsync("anthropic-1", "anthropic", AnthropicKey, _upstream.BaseUrl);
        _openaiId = await _host.AddAccountAsync("openai-1", "openai", OpenAIKey, _upstream.OpenAIBaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<JsonElement> OnlyRequestAsync()
    {
        var rows = await HistoryApi.RequestsAsync(_host);
        return Assert.Single(rows);
    }

    [Fact]
    public async Task Anthropic_message_is_recorded_with_usage_cost_and_account()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 100, Messages = [new UserMessageParam("Hi")] });

        var row = await OnlyRequestAsync();

        Assert.Equal("claude-sonnet-4-5", row.Str("model"));
        Assert.Equal(_anthropicId, row.Str("accountUsed"));
        Assert.Equal("anthropic-1", row.Str("accountName"));
        Assert.Equal("anthropic", row.Str("provider"));
        Assert.Equal(200, row.Long("statusCode"));
        Assert.Equal(12, row.Long("inputTokens"));
        Assert.Equal(5, row.Long("outputTokens"));
        Assert.Equal(0, row.Long("cacheReadInputTokens"));
        Assert.Equal(12, row.Long("promptTokens"));
        Assert.Equal(5, row.Long("completionTokens"));
        Assert.Equal(17, row.Long("totalTokens"));
        Assert.Equal(0.000111m, row.Decimal("costUsd")); // 12 x $3 + 5 x $15 per million
        Assert.Equal("msg_fake_01", row.Str("responseId"));
        Assert.True(row.Double("tokensPerSecond") > 0);
        Assert.NotNull(row.Double("proxyOverheadMs"));
        Assert.NotNull(row.Double("upstreamTtfbMs"));
        Assert.Null(row.Double("streamingDurationMs"));
        Assert.False(row.GetProperty("costUnknown").GetBoolean());
    }

    [Fact]
    public async Task Anthropic_stream_is_recorded_with_usage_from_message_start_and_delta()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await foreach (var _ in client.Messages.CreateStreaming(new MessageCreateParams { Model = "claude-haiku-4-5", MaxTokens = 100, Messages = [new UserMessageParam("Hi")] }))
        {
        }

        var row = await OnlyRequestAsync();

        Assert.Equal("claude-haiku-4-5", row.Str("model"));
        Assert.Equal(12, row.Long("inputTokens"));
        Assert.Equal(5, row.Long("outputTokens"));
        Assert.Equal(0.000037m, row.Decimal("costUsd")); // 12 x $1 + 5 x $5 per million
        Assert.NotNull(row.Double("ttftMs"));
        Assert.NotNull(row.Double("streamingDurationMs"));
        Assert.Equal("anthropic-1", row.Str("accountName"));
    }

    [Fact]
    public async Task OpenAI_chat_plain_and_streaming_with_usage_are_recorded()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetChatClient("gpt-4.1-mini");
        await chat.CompleteChatAsync([new UserChatMessage("Hi")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("Hi")], new ChatCompletionOptions()))
        {
        }

        var rows = await HistoryApi.RequestsAsync(_host);

        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            Assert.Equal("gpt-4.1-mini", row.Str("model"));
            Assert.Equal("openai-1", row.Str("accountName"));
            Assert.Equal(_openaiId, row.Str("accountUsed"));
            Assert.Equal(10, row.Long("promptTokens"));
            Assert.Equal(10, row.Long("inputTokens"));
            Assert.Equal(4, row.Long("completionTokens"));
            Assert.Equal(14, row.Long("totalTokens"));
            Assert.Equal(0.0000104m, row.Decimal("costUsd")); // 10 x $0.40 + 4 x $1.60 per million
            Assert.Equal("chatcmpl-fake01", row.Str("responseId"));
        }
        Assert.Single(rows, r => r.Double("streamingDurationMs") is not null);
        var upstreamStream = _upstream.Received.Single(r => r.Body.Contains("\"stream\":true", StringComparison.Ordinal));
        Assert.Contains("include_usage", upstreamStream.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAI_responses_plain_and_streaming_are_recorded_with_chain()
    {
        var responses = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetResponsesClient();
        await responses.CreateResponseAsync(BinaryContent.Create(BinaryData.FromString("""{"model":"gpt-5","input":"Hi"}""")), new RequestOptions());
        var streamed = await responses.CreateResponseAsync(
            BinaryContent.Create(BinaryData.FromString("""{"model":"gpt-5","input":"Again","stream":true,"previous_response_id":"resp_fake01"}""")),
            new RequestOptions { BufferResponse = false });
        var sse = await new StreamReader(streamed.GetRawResponse().ContentStream!).ReadToEndAsync();
        Assert.Contains("response.completed", sse, StringComparison.Ordinal);

        var rows = await HistoryApi.RequestsAsync(_host);

        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            Assert.Equal("gpt-5", row.Str("model"));
            Assert.Equal(9, row.Long("promptTokens"));
            Assert.Equal(3, row.Long("outputTokens"));
            Assert.Equal(0, row.Long("reasoningTokens"));
            Assert.Equal(0.00004125m, row.Decimal("costUsd")); // 9 x $1.25 + 3 x $10 per million
            Assert.Equal("resp_fake01", row.Str("responseId"));
            Assert.Equal("resp_fake01", row.Str("responseChainId"));
        }
        var streamedRow = Assert.Single(rows, r => r.Double("streamingDurationMs") is not null);
        Assert.Equal("resp_fake01", streamedRow.Str("previousResponseId"));
    }

    [Fact]
    public async Task Unknown_models_cost_zero_and_are_flagged()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetChatClient("my-private-model");
        await chat.CompleteChatAsync([new UserChatMessage("Hi")]);

        var row = await OnlyRequestAsync();

        Assert.Equal(0m, row.Decimal("costUsd"));
        Assert.True(row.GetProperty("costUnknown").GetBoolean());
        Assert.False(row.GetProperty("costEstimated").GetBoolean());
        Assert.Equal(14, row.Long("totalTokens"));
    }

    [Fact]
    public async Task Current_models_are_priced_and_a_model_newer_than_the_price_list_takes_its_familys_price_marked_estimated()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-opus-4-8", MaxTokens = 100, Messages = [new UserMessageParam("Hi")] });
        var known = await OnlyRequestAsync();
        await client.Messages.Create(new MessageCreateParams { Model = "claude-opus-9-9", MaxTokens = 100, Messages = [new UserMessageParam("Hi")] });
        var rows = await HistoryApi.RequestsAsync(_host);
        var estimated = Assert.Single(rows, r => r.Str("model") == "claude-opus-9-9");

        Assert.Equal(0.000185m, known.Decimal("costUsd")); // 12 x $5 + 5 x $25 per million, not claude-opus-4's $15/$75
        Assert.False(known.GetProperty("costEstimated").GetBoolean());
        Assert.False(known.GetProperty("costUnknown").GetBoolean());
        Assert.Equal(0.000148m, estimated.Decimal("costUsd")); // the newest known Opus (5.5): 12 x $4 + 5 x $20 per million
        Assert.True(estimated.GetProperty("costEstimated").GetBoolean());
        Assert.False(estimated.GetProperty("costUnknown").GetBoolean());
    }

    [Fact]
    public async Task Detail_shows_decoded_payloads_with_every_credential_masked()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 100, Messages = [new UserMessageParam("Please echo " + AnthropicKey)] });
        using var raw = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"x"}],"metadata":{"api_key":"sk-user-pasted-secret-42","refresh_token":"rt-pasted-secret-42"}}""", Encoding.UTF8, "application/json"),
        };
        raw.Headers.Add("x-api-key", "client-side-key-12345");
        raw.Headers.Add("anthropic-version", "2023-06-01");
        (await _host.Client.SendAsync(raw)).EnsureSuccessStatusCode();
        await _host.DrainHistoryAsync();

        using var response = await _host.Client.GetAsync("/api/requests/detail?limit=10");
        var json = await response.Content.ReadAsStringAsync();
        var details = JsonDocument.Parse(json).RootElement;

        Assert.Equal(2, details.GetArrayLength());
        Assert.DoesNotContain(AnthropicKey, json, StringComparison.Ordinal);
        var decodedAll = new StringBuilder();
        foreach (var detail in details.EnumerateArray())
        {
            Assert.NotNull(detail.Str("id"));
            var request = detail.GetProperty("request");
            var responsePart = detail.GetProperty("response");
            var meta = detail.GetProperty("meta");
            var requestBody = Encoding.UTF8.GetString(Convert.FromBase64String(request.Str("body")!));
            var responseBody = Encoding.UTF8.GetString(Convert.FromBase64String(responsePart.Str("body")!));
            decodedAll.Append(requestBody).Append(responseBody);
            foreach (var header in request.GetProperty("headers").EnumerateObject())
            {
                decodedAll.Append(header.Name).Append(": ").Append(header.Value.GetString()).Append('\n');
            }
            Assert.Contains("claude-sonnet-4-5", requestBody, StringComparison.Ordinal);
            Assert.Contains("Hello from fake", responseBody, StringComparison.Ordinal);
            Assert.Equal(200, responsePart.Long("status"));
            var account = meta.GetProperty("account");
            var transport = meta.GetProperty("transport");
            Assert.Equal(_anthropicId, account.Str("id"));
            Assert.Equal("anthropic-1", account.Str("name"));
            Assert.Equal(0, transport.Long("retry"));
            Assert.True(transport.GetProperty("success").GetBoolean());
            Assert.False(transport.GetProperty("rateLimited").GetBoolean());
            Assert.Equal(1, transport.Long("accountsAttempted"));
            Assert.True(meta.GetProperty("trace").Long("timestamp") > 1_600_000_000_000);
            Assert.StartsWith("sk-", request.GetProperty("headers").GetProperty("x-api-key").GetString(), StringComparison.Ordinal);
            Assert.EndsWith("***", request.GetProperty("headers").GetProperty("x-api-key").GetString(), StringComparison.Ordinal);
        }
        var decoded = decodedAll.ToString();
        Assert.DoesNotContain(AnthropicKey, decoded, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-user-pasted-secret-42", decoded, StringComparison.Ordinal);
        Assert.DoesNotContain("rt-pasted-secret-42", decoded, StringComparison.Ordinal);
        Assert.DoesNotContain("client-side-key-12345", decoded, StringComparison.Ordinal);
        Assert.Contains("Please echo ***", decoded, StringComparison.Ordinal);
        Assert.Contains("\"api_key\":\"***\"", decoded, StringComparison.Ordinal);

        var single = await _host.Client.GetFromJsonAsync<JsonElement>("/api/requests/" + details[0].Str("id"));
        Assert.Equal(details[0].Str("id"), single.Str("id"));
        using var missing = await _host.Client.GetAsync("/api/requests/nope");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Payload_capture_can_be_switched_off()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.CapturePayloads = false);
        await host.AddAccountAsync("a", "anthropic", AnthropicKey, _upstream.BaseUrl);
        var client = SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 100, Messages = [new UserMessageParam("Hi")] });

        var rows = await HistoryApi.RequestsAsync(host);
        var details = await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests/detail");

        Assert.Equal(17, Assert.Single(rows).Long("totalTokens")); // usage still parsed
        Assert.Empty(details!);
    }
}
