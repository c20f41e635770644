using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using OpenAI.Chat;

namespace Ccflare.Tests.Compat;

/// <summary>
/// The official SDKs against the compat routes on a real Kestrel Ccflare, with the fake upstream
/// behind it: same-family passthrough and cross-family translation, plain and streaming.
/// </summary>
public sealed class CompatSdkTests : IAsyncLifetime
{
    private const string AnthropicKey = "sk-ant-compat-1";
    private const string OpenAIKey = "sk-openai-compat-1";
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";

    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await _host.AddAccountAsync("anthropic-1", "anthropic", AnthropicKey, _upstream.BaseUrl);
        await _host.AddAccountAsync("openai-1", "openai", OpenAIKey, _upstream.OpenAIBaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private string AnthropicBase => _host.BaseUrl + "/v1/ccflare/anthropic";

    private string OpenAIBase => _host.BaseUrl + "/v1/ccflare/openai";

    private ReceivedRequest SingleReceived() => Assert.Single(_upstream.Received);

    private static JsonObject BodyOf(ReceivedRequest request) => JsonNode.Parse(request.Body)!.AsObject();

    // ------------------------------------------------------------ Anthropic SDK

    [Fact]
    public async Task Anthropic_sdk_with_anthropic_model_passes_through_natively()
    {
        var client = SdkClients.Anthropic(AnthropicBase);

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = "anthropic/claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from fake", text!.Text);
        var received = SingleReceived();
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal(AnthropicKey, received.Header("x-api-key"));
        Assert.Equal("claude-sonnet-4-5", BodyOf(received)["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Anthropic_sdk_streaming_with_anthropic_model_passes_through()
    {
        var client = SdkClients.Anthropic(AnthropicBase);

        var text = await CollectAnthropicTextAsync(client, "anthropic/claude-sonnet-4-5");

        Assert.Equal("Hello from fake", text);
        Assert.Equal("claude-sonnet-4-5", BodyOf(SingleReceived())["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Anthropic_sdk_with_openai_model_is_translated_to_chat_completions()
    {
        var client = SdkClients.Anthropic(AnthropicBase);

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = "openai/gpt-4.1",
            MaxTokens = 100,
            System = "Be brief.",
            Messages = [new UserMessageParam("Hi")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from fake", text!.Text);
        Assert.Equal(10, message.Usage.InputTokens);
        Assert.Equal(4, message.Usage.OutputTokens);
        var received = SingleReceived();
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("Bearer " + OpenAIKey, received.Header("authorization"));
        Assert.Null(received.Header("anthropic-version"));
        var body = BodyOf(received);
        Assert.Equal("gpt-4.1", body["model"]!.GetValue<string>());
        Assert.Equal(100, body["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal("system", body["messages"]![0]!["role"]!.GetValue<string>());
        Assert.Equal("Hi", body["messages"]![1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Anthropic_sdk_streaming_with_openai_model_receives_translated_events()
    {
        var client = SdkClients.Anthropic(AnthropicBase);
        var text = "";
        long? outputTokens = null;
        string? stopReason = null;
        await foreach (var streamEvent in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "openai/gpt-4.1",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        }))
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
            {
                text += textDelta!.Text;
            }
            if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
                stopReason = messageDelta.Delta.StopReason?.Raw();
            }
        }

        Assert.Equal("Hello from fake", text);
        Assert.Equal(4, outputTokens);
        Assert.Equal("end_turn", stopReason);
        var body = BodyOf(SingleReceived());
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.True(body["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Anthropic_sdk_sees_openai_upstream_errors_in_anthropic_shape()
    {
        _upstream.ScriptFor(OpenAIKey, (context, _) => FakeUpstream.WriteJsonAsync(context, 400,
            """{"error":{"message":"Invalid 'max_completion_tokens'","type":"invalid_request_error","param":null,"code":null}}"""));
        var client = SdkClients.Anthropic(AnthropicBase);

        var error = await Assert.ThrowsAnyAsync<AnthropicServiceException>(() => client.Messages.Create(new MessageCreateParams
        {
            Model = "openai/gpt-4.1",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        }));

        Assert.Contains("Invalid 'max_completion_tokens'", error.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------ OpenAI SDK

    [Fact]
    public async Task OpenAI_sdk_chat_with_anthropic_model_is_translated_to_messages()
    {
        var chat = SdkClients.OpenAI(OpenAIBase).GetChatClient("anthropic/claude-sonnet-4-5");

        ChatCompletion completion = await chat.CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hi")]);

        Assert.Equal("Hello from fake", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(12, completion.Usage.InputTokenCount);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        var received = SingleReceived();
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal(AnthropicKey, received.Header("x-api-key"));
        Assert.Equal("2023-06-01", received.Header("anthropic-version"));
        Assert.Null(received.Header("authorization"));
        var body = BodyOf(received);
        Assert.Equal("claude-sonnet-4-5", body["model"]!.GetValue<string>());
        Assert.Equal(4096, body["max_tokens"]!.GetValue<int>());
        Assert.Equal("Be brief.", body["system"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenAI_sdk_streaming_chat_with_anthropic_model_receives_chunks_and_usage()
    {
        var chat = SdkClients.OpenAI(OpenAIBase).GetChatClient("anthropic/claude-sonnet-4-5");
        var text = "";
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text += part.Text;
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from fake", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(5, usage!.OutputTokenCount);
        Assert.True(BodyOf(SingleReceived())["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task OpenAI_sdk_tool_calling_round_trip_through_anthropic()
    {
        _upstream.ScriptFor(AnthropicKey, (context, request) =>
        {
            var body = BodyOf(request);
            var last = body["messages"]!.AsArray()[^1]!["content"]!.AsArray();
            if (last.Any(block => block!["type"]!.GetValue<string>() == "tool_result"))
            {
                var result = last.First(block => block!["type"]!.GetValue<string>() == "tool_result")!["content"]!.GetValue<string>();
                return FakeUpstream.WriteJsonAsync(context, 200, WireFormats.AnthropicMessage("claude-sonnet-4-5", "It is " + result));
            }
            return FakeUpstream.WriteJsonAsync(context, 200, WireFormats.AnthropicToolUse("claude-sonnet-4-5", "toolu_01", "get_weather", """{"city":"Paris"}"""));
        });
        var chat = SdkClients.OpenAI(OpenAIBase).GetChatClient("anthropic/claude-sonnet-4-5");
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString(WeatherSchema)) } };
        List<ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("toolu_01", call.Id);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "18C and sunny"));
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal("It is 18C and sunny", second.Content[0].Text);
        var requests = _upstream.Received.ToArray();
        Assert.Equal(2, requests.Length);
        var firstBody = BodyOf(requests[0]);
        Assert.Equal("get_weather", firstBody["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("city", firstBody["tools"]![0]!["input_schema"]!["required"]![0]!.GetValue<string>());
        var history = BodyOf(requests[1])["messages"]!.AsArray();
        Assert.Equal(3, history.Count);
        Assert.Equal("tool_use", history[1]!["content"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("Paris", history[1]!["content"]![0]!["input"]!["city"]!.GetValue<string>());
        Assert.Equal("toolu_01", history[2]!["content"]![0]!["tool_use_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenAI_sdk_streaming_tool_call_is_assembled_from_translated_deltas()
    {
        _upstream.ScriptFor(AnthropicKey, (context, _) =>
            FakeUpstream.WriteSseAsync(context, WireFormats.AnthropicToolUseStream("claude-sonnet-4-5", "toolu_02", "get_weather", """{"city":"Rome"}""", thinking: "Need the weather.")));
        var chat = SdkClients.OpenAI(OpenAIBase).GetChatClient("anthropic/claude-sonnet-4-5");
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString(WeatherSchema)) } };
        string? id = null;
        string? name = null;
        var arguments = "";
        ChatFinishReason? finish = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather in Rome?")], options))
        {
            foreach (var toolUpdate in update.ToolCallUpdates)
            {
                id ??= toolUpdate.ToolCallId;
                name ??= toolUpdate.FunctionName;
                if (toolUpdate.FunctionArgumentsUpdate is { } fragment && !fragment.ToMemory().IsEmpty)
                {
                    arguments += fragment.ToString();
                }
            }
            finish ??= update.FinishReason;
        }

        Assert.Equal("toolu_02", id);
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city":"Rome"}""", arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    // ------------------------------------------------------------ Responses route (raw HTTP: the SDK's Responses client is experimental)

    [Fact]
    public async Task Responses_route_with_anthropic_model_returns_a_response_object()
    {
        using var response = await _host.Client.PostAsync("/v1/ccflare/openai/responses", Json("""{"model":"anthropic/claude-sonnet-4-5","instructions":"Be brief.","input":"Hi","max_output_tokens":50}"""));

        Assert.Equal(200, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("response", json.RootElement.GetProperty("object").GetString());
        Assert.Equal("completed", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("Hello from fake", json.RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var body = BodyOf(SingleReceived());
        Assert.Equal(50, body["max_tokens"]!.GetValue<int>());
        Assert.Equal("Be brief.", body["system"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Responses_route_streams_response_events()
    {
        using var response = await _host.Client.PostAsync("/v1/ccflare/openai/responses", Json("""{"model":"anthropic/claude-sonnet-4-5","input":"Hi","stream":true}"""));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var sse = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("event: response.created\n", sse, StringComparison.Ordinal);
        Assert.Contains("event: response.output_text.delta", sse, StringComparison.Ordinal);
        Assert.Contains("\"text\":\"Hello from fake\"", sse, StringComparison.Ordinal);
        Assert.Contains("event: response.completed", sse, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Literal_compat_route_wins_over_the_native_provider_route()
    {
        // Without precedence this would reach /v1/{provider}/{**rest} with provider "ccflare" and answer 404.
        using var response = await _host.Client.PostAsync("/v1/ccflare/anthropic/messages", Json("""{"model":"anthropic/claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}"""));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("/v1/messages", SingleReceived().Path);
        using var native = await _host.Client.PostAsync("/v1/ccflare/anthropic/other", Json("{}"));
        Assert.Equal(404, (int)native.StatusCode);
    }

    [Theory]
    [InlineData("/v1/ccflare/openai/chat/completions", """{"model":"gpt-4.1","messages":[]}""")]
    [InlineData("/v1/ccflare/anthropic/v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}""")]
    [InlineData("/v1/ccflare/openai/responses", """{"model":"mistral/large","input":"x"}""")]
    [InlineData("/v1/ccflare/openai/responses", """{"model":"openai/","input":"x"}""")]
    [InlineData("/v1/ccflare/openai/responses", """{"input":"x"}""")]
    [InlineData("/v1/ccflare/openai/chat/completions", """{"model":"anthropic/x",""")]
    [InlineData("/v1/ccflare/openai/chat/completions", """["anthropic/x"]""")]
    public async Task Bad_model_or_body_is_a_400_json_error(string path, string body)
    {
        using var response = await _host.Client.PostAsync(path, Json(body));

        Assert.Equal(400, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetString()));
        Assert.Empty(_upstream.Received);
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static async Task<string> CollectAnthropicTextAsync(Anthropic.AnthropicClient client, string model)
    {
        var text = "";
        await foreach (var streamEvent in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = model,
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        }))
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
            {
                text += textDelta!.Text;
            }
        }
        return text;
    }
}
