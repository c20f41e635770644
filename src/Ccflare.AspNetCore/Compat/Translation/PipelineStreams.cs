using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Runs two stream translators back to back through an intermediate SSE buffer (e.g. Responses -> Messages -> Chat).</summary>
internal sealed class ChainedStream : StreamTranslator
{
    private readonly PooledBufferWriter _middle = new(4096);
    private readonly SseReader _reader = new();
    private readonly StreamTranslator _first;
    private readonly StreamTranslator _second;

    public ChainedStream(IBufferWriter<byte> output, Func<IBufferWriter<byte>, StreamTranslator> first, Func<IBufferWriter<byte>, StreamTranslator> second)
        : base(output)
    {
        _first = first(_middle);
        _second = second(output);
    }

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        _first.OnEvent(name, data);
        Pump();
    }

    public override void Complete()
    {
        _first.Complete();
        Pump();
        _reader.Complete(_second);
        _second.Complete();
    }

    private void Pump()
    {
        if (_middle.WrittenCount == 0)
        {
            return;
        }
        _reader.Feed(_middle.WrittenSpan, _second);
        _middle.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _first.Dispose();
            _second.Dispose();
            _reader.Dispose();
            _middle.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Collects an Anthropic Messages event stream into one Message and writes it as plain JSON,
/// optionally translated further (for clients that did not ask to stream from an upstream that always streams).
/// </summary>
internal sealed class MessagesAccumulator(IBufferWriter<byte> output, Action<JsonElement, IBufferWriter<byte>>? translate) : StreamTranslator(output)
{
    private readonly SortedDictionary<long, Block> _blocks = [];
    private string _id = "msg";
    private string _model = string.Empty;
    private string? _stopReason;
    private AnthropicUsage _usage;
    private string? _error;
    private bool _done;

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        switch (root.Kind())
        {
            case "message_start":
                ReadMessageStart(root, ref _id, ref _model, ref _usage);
                break;
            case "content_block_start":
                if (root.TryObj("content_block", out var content))
                {
                    _blocks[root.Long("index") ?? 0] = new Block(content.Str("type") ?? "text", content.Str("id"), content.Str("name"));
                }
                break;
            case "content_block_delta":
                if (root.TryObj("delta", out var delta) && _blocks.TryGetValue(root.Long("index") ?? 0, out var block))
                {
                    block.Text.Append(delta.Str("text") ?? delta.Str("thinking") ?? delta.Str("partial_json"));
                }
                break;
            case "message_delta":
                ReadMessageDelta(root, ref _stopReason, ref _usage);
                break;
            case "error":
                _error = root.TryObj("error", out var error) ? error.Str("message") : null;
                _error ??= "Upstream stream error";
                break;
        }
    }

    public override void Complete()
    {
        if (_done)
        {
            return;
        }
        _done = true;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, TranslationJson.WriterOptions))
        {
            w.WriteStartObject();
            if (_error is not null)
            {
                w.WriteString("type", "error");
                w.WriteStartObject("error");
                w.WriteString("type", "api_error");
                w.WriteString("message", _error);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                ResponseTranslator.WriteMessageHead(w, _id, _model);
                foreach (var block in _blocks.Values)
                {
                    switch (block.Type)
                    {
                        case "text":
                            ResponseTranslator.WriteTextBlock(w, block.Text.ToString());
                            break;
                        case "thinking":
                            ResponseTranslator.WriteThinkingBlock(w, block.Text.ToString());
                            break;
                        case "tool_use":
                            ResponseTranslator.WriteToolUseBlock(w, block.Id, block.Name, block.Text.ToString());
                            break;
                    }
                }
                ResponseTranslator.WriteMessageTail(w, _stopReason ?? "end_turn", _usage);
                w.WriteEndObject();
            }
        }
        if (translate is null || _error is not null)
        {
            Output.Write(buffer.WrittenSpan);
            return;
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        translate(document.RootElement, Output);
    }

    private sealed record Block(string Type, string? Id, string? Name)
    {
        public StringBuilder Text { get; } = new();
    }
}

internal static class UnixTime
{
    public static long Seconds(TimeProvider time) => time.GetUtcNow().ToUnixTimeSeconds();
}
