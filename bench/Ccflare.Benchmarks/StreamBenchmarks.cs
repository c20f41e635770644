using System.Text;
using BenchmarkDotNet.Attributes;
using Ccflare.Compat;
using Ccflare.Compat.Translation;
using Ccflare.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ccflare.Benchmarks;

/// <summary>
/// Per-stream costs of the pieces that look inside a streamed response: the usage tee (the
/// capped copy of the upstream SSE parsed for tokens, model and id by the history writer) and
/// compat translation (Anthropic events rewritten to OpenAI chunks and back, chunk by chunk as
/// they arrive). One operation is one whole stream of <see cref="Events"/> text deltas.
/// </summary>
[MemoryDiagnoser]
public class StreamBenchmarks
{
    private byte[] _anthropicSse = [];
    private byte[] _chatSse = [];
    private ReadOnlyMemory<byte>[] _anthropicChunks = [];
    private ReadOnlyMemory<byte>[] _chatChunks = [];

    /// <summary>Text deltas per stream.</summary>
    [Params(200)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _anthropicSse = AnthropicStream(Events, out _anthropicChunks);
        _chatSse = ChatStream(Events, out _chatChunks);
    }

    /// <summary>Usage, model and id read from a captured Anthropic Messages stream (message_start + message_delta).</summary>
    [Benchmark]
    public long? UsageTeeAnthropicSse() => UsageParser.Parse(_anthropicSse, isStreaming: true).TotalTokens;

    /// <summary>Usage read from a captured Chat Completions stream (the final chunk carries it).</summary>
    [Benchmark]
    public long? UsageTeeChatSse() => UsageParser.Parse(_chatSse, isStreaming: true).TotalTokens;

    /// <summary>Anthropic Messages events -> Chat Completions chunks, one network chunk per event.</summary>
    [Benchmark]
    public Task TranslateMessagesToChat() =>
        TranslateAsync(_anthropicChunks, output => CompatAdapter.StreamFor(WireSchema.Messages, WireSchema.Chat, 1_700_000_000, includeUsage: true, output));

    /// <summary>Anthropic Messages events -> Responses API events.</summary>
    [Benchmark]
    public Task TranslateMessagesToResponses() =>
        TranslateAsync(_anthropicChunks, output => CompatAdapter.StreamFor(WireSchema.Messages, WireSchema.Responses, 1_700_000_000, includeUsage: false, output));

    /// <summary>Chat Completions chunks -> Anthropic Messages events.</summary>
    [Benchmark]
    public Task TranslateChatToMessages() =>
        TranslateAsync(_chatChunks, output => CompatAdapter.StreamFor(WireSchema.Chat, WireSchema.Messages, 1_700_000_000, includeUsage: false, output));

    private static async Task TranslateAsync(ReadOnlyMemory<byte>[] chunks, Func<PooledBufferWriter, StreamTranslator> create)
    {
        using var translator = new SseResponseTranslator(create, "text/event-stream", NullLogger.Instance, "bench");
        foreach (var chunk in chunks)
        {
            await translator.WriteAsync(chunk, Stream.Null, CancellationToken.None).ConfigureAwait(false);
        }
        await translator.CompleteAsync(Stream.Null, CancellationToken.None).ConfigureAwait(false);
    }

    private static byte[] AnthropicStream(int events, out ReadOnlyMemory<byte>[] chunks)
    {
        var parts = new List<string>
        {
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1250,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        };
        for (var i = 0; i < events; i++)
        {
            parts.Add($"event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} of the answer \"}}}}\n\n");
        }
        parts.Add("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        parts.Add($"event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{events}}}}}\n\n");
        parts.Add("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return Join(parts, out chunks);
    }

    private static byte[] ChatStream(int events, out ReadOnlyMemory<byte>[] chunks)
    {
        const string Head = "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4.1-mini-2025-04-14\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_06737a9306\",";
        var parts = new List<string>
        {
            "data: " + Head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        };
        for (var i = 0; i < events; i++)
        {
            parts.Add("data: " + Head + $"\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token {i} of the answer \"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n");
        }
        parts.Add("data: " + Head + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
        parts.Add("data: " + Head + $"\"choices\":[],\"usage\":{{\"prompt_tokens\":1250,\"completion_tokens\":{events},\"total_tokens\":{1250 + events},\"prompt_tokens_details\":{{\"cached_tokens\":1024}},\"completion_tokens_details\":{{\"reasoning_tokens\":0}}}}}}\n\n");
        parts.Add("data: [DONE]\n\n");
        return Join(parts, out chunks);
    }

    private static byte[] Join(List<string> parts, out ReadOnlyMemory<byte>[] chunks)
    {
        var all = Encoding.UTF8.GetBytes(string.Concat(parts));
        chunks = new ReadOnlyMemory<byte>[parts.Count];
        var offset = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            var length = Encoding.UTF8.GetByteCount(parts[i]);
            chunks[i] = all.AsMemory(offset, length);
            offset += length;
        }
        return all;
    }
}
