using System.Text;
using Ccflare.Usage;

namespace Ccflare.Tests.Usage;

public sealed class UsageParserTests
{
    /// <summary>
    /// The usage in both Anthropic fixtures (the JSON message and the stream): prompt tokens are input
    /// plus both cache counts; the stream takes input from message_start and output from message_delta.
    /// </summary>
    private static readonly UsageInfo AnthropicFixtureUsage = new()
    {
        Format = UsageFormat.AnthropicMessages,
        Model = "claude-sonnet-4-5-20250929",
        InputTokens = 25,
        CacheCreationInputTokens = 100,
        CacheReadInputTokens = 2000,
        OutputTokens = 42,
        PromptTokens = 2125,
        CompletionTokens = 42,
        TotalTokens = 2167,
    };

    [Fact]
    public void Anthropic_message_json_reports_cache_tokens_and_prompt_sum()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("anthropic-message.json"), isStreaming: false);

        Assert.Equal(AnthropicFixtureUsage with { ResponseId = "msg_01XFDUDYJgAACzvnptvVoYEL" }, usage);
    }

    [Fact]
    public void Anthropic_stream_takes_input_from_message_start_and_output_from_message_delta()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("anthropic-stream.sse"), isStreaming: true);

        Assert.Equal(AnthropicFixtureUsage with { ResponseId = "msg_01StreamAbc" }, usage);
    }

    [Fact]
    public void Anthropic_stream_with_crlf_line_endings_parses_the_same()
    {
        var crlf = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Fixture.Bytes("anthropic-stream.sse")).Replace("\n", "\r\n", StringComparison.Ordinal));

        var usage = UsageParser.Parse(crlf, isStreaming: true);

        Assert.Equal(25, usage.InputTokens);
        Assert.Equal(42, usage.OutputTokens);
    }

    [Fact]
    public void Anthropic_stream_cut_after_message_start_keeps_the_input_side()
    {
        var full = Encoding.UTF8.GetString(Fixture.Bytes("anthropic-stream.sse"));
        var cut = full.IndexOf("event: content_block_delta", StringComparison.Ordinal) + 30; // mid-event

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(full[..cut]), isStreaming: true);

        Assert.Equal("msg_01StreamAbc", usage.ResponseId);
        Assert.Equal(25, usage.InputTokens);
        Assert.Equal(1, usage.OutputTokens); // message_start's placeholder; message_delta never arrived.
    }

    [Fact]
    public void Stream_cut_inside_the_final_event_json_still_reads_complete_properties()
    {
        var full = Encoding.UTF8.GetString(Fixture.Bytes("anthropic-stream.sse"));
        var start = full.IndexOf("data: {\"type\":\"message_delta\"", StringComparison.Ordinal);
        var cut = full.IndexOf("\"output_tokens\":42}", start, StringComparison.Ordinal) + "\"output_tokens\":42}".Length; // usage object complete, outer object not

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(full[..cut]), isStreaming: true);

        Assert.Equal(42, usage.OutputTokens);
    }

    [Fact]
    public void OpenAI_chat_json_reports_cached_and_reasoning_tokens()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-chat.json"), isStreaming: false);

        Assert.Equal(new UsageInfo
        {
            Format = UsageFormat.OpenAIChatCompletions,
            ResponseId = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            Model = "o4-mini-2025-04-16",
            PromptTokens = 1200,
            InputTokens = 176,
            CacheReadInputTokens = 1024,
            OutputTokens = 300,
            CompletionTokens = 300,
            ReasoningTokens = 128,
            TotalTokens = 1500,
        }, usage);
    }

    [Fact]
    public void OpenAI_chat_stream_reads_usage_from_the_final_chunk()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-chat-stream.sse"), isStreaming: true);

        Assert.Equal(new UsageInfo
        {
            Format = UsageFormat.OpenAIChatCompletions,
            ResponseId = "chatcmpl-Stream123",
            Model = "gpt-4.1-mini-2025-04-14",
            PromptTokens = 50,
            InputTokens = 50,
            CacheReadInputTokens = 0,
            OutputTokens = 7,
            CompletionTokens = 7,
            ReasoningTokens = 0,
            TotalTokens = 57,
        }, usage);
    }

    [Fact]
    public void OpenAI_chat_stream_without_include_usage_has_identity_but_no_tokens()
    {
        var text = Encoding.UTF8.GetString(Fixture.Bytes("openai-chat-stream.sse"));
        var withoutUsage = text.Remove(text.IndexOf("data: {\"id\":\"chatcmpl-Stream123\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4.1-mini-2025-04-14\",\"system_fingerprint\":\"fp_1\",\"choices\":[],", StringComparison.Ordinal));

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(withoutUsage), isStreaming: true);

        Assert.Equal("chatcmpl-Stream123", usage.ResponseId);
        Assert.False(usage.HasTokens);
        Assert.Null(usage.TotalTokens);
    }

    [Fact]
    public void Responses_json_reports_cached_and_reasoning_tokens()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-responses.json"), isStreaming: false);

        Assert.Equal(new UsageInfo
        {
            Format = UsageFormat.OpenAIResponses,
            ResponseId = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
            Model = "gpt-5-2025-08-07",
            PromptTokens = 500,
            InputTokens = 400,
            CacheReadInputTokens = 100,
            OutputTokens = 80,
            CompletionTokens = 80,
            ReasoningTokens = 64,
            TotalTokens = 580,
        }, usage);
    }

    [Fact]
    public void Responses_stream_reads_usage_from_response_completed()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-responses-stream.sse"), isStreaming: true);

        Assert.Equal(new UsageInfo
        {
            Format = UsageFormat.OpenAIResponses,
            ResponseId = "resp_stream_01",
            Model = "gpt-5-codex",
            PromptTokens = 37,
            InputTokens = 37,
            CacheReadInputTokens = 0,
            OutputTokens = 11,
            CompletionTokens = 11,
            ReasoningTokens = 3,
            TotalTokens = 48,
        }, usage);
    }

    [Fact]
    public void Unknown_events_still_count_when_they_carry_a_usage_object()
    {
        // Content deltas and pings are skipped without building a document, but only when they carry nothing
        // usage parsing reads: an event of another type with a usage object is still read by its shape.
        var sse = "event: ping\ndata: {\"type\":\"ping\"}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\\"usage\\\": {}\"}}\n\n"
            + "event: custom\ndata: {\"type\":\"custom_totals\",\"id\":\"msg_custom\",\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}\n\n";

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(sse), isStreaming: true);

        Assert.Equal(UsageFormat.AnthropicMessages, usage.Format);
        Assert.Equal("msg_custom", usage.ResponseId);
        Assert.Equal(7, usage.InputTokens);
        Assert.Equal(3, usage.OutputTokens);
    }

    [Fact]
    public void Escaped_property_names_are_read_like_plain_ones()
    {
        var sse = "data: {\"\\u0074ype\":\"message_start\",\"message\":{\"id\":\"msg_esc\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n"
            + "data: {\"type\":\"message_delta\",\"\\u0075sage\":{\"output_tokens\":9}}\n\n";

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(sse), isStreaming: true);

        Assert.Equal("msg_esc", usage.ResponseId);
        Assert.Equal(4, usage.InputTokens);
        Assert.Equal(9, usage.OutputTokens);
    }

    [Fact]
    public void Chat_chunks_take_the_last_id_and_model_and_a_null_usage_is_no_usage()
    {
        var sse = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-a\",\"choices\":[],\"usage\":null}\n\n"
            + "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
            + "data: {\"id\":\"\",\"object\":\"chat.completion.chunk\",\"model\":\"\",\"choices\":[]}\n\n"
            + "data: [DONE]\n\n";

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(sse), isStreaming: true);

        Assert.Equal(UsageFormat.OpenAIChatCompletions, usage.Format);
        Assert.Equal("chatcmpl-2", usage.ResponseId);
        Assert.Equal("gpt-b", usage.Model);
        Assert.Null(usage.PromptTokens);
    }

    [Fact]
    public void Truncated_json_body_keeps_id_and_model_and_has_no_tokens()
    {
        var body = Fixture.Bytes("openai-responses.json");

        var usage = UsageParser.Parse(body.AsMemory(0, 300), isStreaming: false);

        Assert.Equal("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", usage.ResponseId);
        Assert.Equal("gpt-5-2025-08-07", usage.Model);
        Assert.False(usage.HasTokens);
    }

    [Fact]
    public void Multi_line_data_fields_are_joined_before_parsing()
    {
        var sse = "event: message_delta\ndata: {\"type\":\"message_delta\",\ndata: \"usage\":{\"output_tokens\":9}}\n\n";

        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(sse), isStreaming: true);

        Assert.Equal(9, usage.OutputTokens);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json at all")]
    [InlineData("{\"usage\":")]
    [InlineData("data: {broken\n\ndata: [DONE]\n\n")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"type\":\"message\",\"usage\":{\"input_tokens\":-5,\"output_tokens\":\"x\"}}")]
    public void Garbage_never_throws(string body)
    {
        var usage = UsageParser.Parse(Encoding.UTF8.GetBytes(body), isStreaming: body.StartsWith("data:", StringComparison.Ordinal));

        Assert.False(usage.HasTokens);
    }

    [Fact]
    public void Every_prefix_of_every_fixture_parses_without_throwing()
    {
        foreach (var name in new[] { "anthropic-message.json", "anthropic-stream.sse", "openai-chat.json", "openai-chat-stream.sse", "openai-responses.json", "openai-responses-stream.sse" })
        {
            var bytes = Fixture.Bytes(name);
            for (var length = 0; length <= bytes.Length; length += 7)
            {
                _ = UsageParser.Parse(bytes.AsMemory(0, length), isStreaming: name.EndsWith(".sse", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void Request_fields_reads_model_and_previous_response_id()
    {
        var body = """{"input":[{"role":"user","content":"x"}],"model":"gpt-5","previous_response_id":"resp_prev","stream":true}"""u8;

        var fields = RequestFields.Read(body);

        Assert.Equal("gpt-5", fields.Model);
        Assert.Equal("resp_prev", fields.PreviousResponseId);
        Assert.Equal(default, RequestFields.Read("{\"model\":"u8));
    }

    [Fact]
    public void Response_chains_follow_previous_response_ids()
    {
        var chains = new ResponseChains(capacity: 2);

        Assert.Equal("r1", chains.Resolve("r1", null));
        Assert.Equal("r1", chains.Resolve("r2", "r1"));
        Assert.Equal("r1", chains.Resolve("r3", "r2"));
        Assert.Equal("unknown", chains.Resolve("r4", "unknown"));
    }
}
