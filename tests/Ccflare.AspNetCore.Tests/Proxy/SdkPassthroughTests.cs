using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using OpenAI.Chat;

namespace Ccflare.Tests.Proxy;

public sealed class SdkPassthroughTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await _host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-account-1", _upstream.BaseUrl);
        await _host.AddAccountAsync("openai-1", "openai", "sk-openai-account-1", _upstream.OpenAIBaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Anthropic_sdk_message_passes_through_with_account_key()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from fake", text!.Text);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("sk-ant-account-1", received.Header("x-api-key"));
        Assert.Null(received.Header("authorization"));
    }

    [Fact]
    public async Task Anthropic_sdk_streaming_yields_text_deltas()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        var text = "";
        await foreach (var streamEvent in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Hi")],
        }))
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
            {
                text += textDelta!.Text;
            }
        }
        Assert.Equal("Hello from fake", text);
    }

    [Fact]
    public async Task OpenAI_sdk_chat_completion_passes_through_with_bearer()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetChatClient("gpt-4.1-mini");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal("Hello from fake", completion.Content[0].Text);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("Bearer sk-openai-account-1", received.Header("authorization"));
    }

    [Fact]
    public async Task OpenAI_sdk_streaming_chat_yields_deltas_and_usage()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetChatClient("gpt-4.1-mini");
        var text = "";
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hi")], new ChatCompletionOptions()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text += part.Text;
            }
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from fake", text);
        Assert.Equal("/v1/chat/completions", Assert.Single(_upstream.Received).Path);
    }

#pragma warning disable OPENAI001 // The Responses client is marked experimental in the SDK.
    [Fact]
    public async Task OpenAI_sdk_responses_pass_through()
    {
        var responses = SdkClients.OpenAI(_host.BaseUrl + "/v1/openai").GetResponsesClient();

        var result = await responses.CreateResponseAsync("gpt-4.1-mini", "Hi");

        Assert.Equal("Hello from fake", result.Value.GetOutputText());
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/v1/responses", received.Path);
        Assert.Equal("Bearer sk-openai-account-1", received.Header("authorization"));
    }
#pragma warning restore OPENAI001
}
