using System.Buffers;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>
/// Translates one SSE stream into another event by event. Events arrive through
/// <see cref="ISseEventSink.OnEvent"/>; translated SSE is written to the output buffer given at
/// construction, which the caller drains (and flushes to the client) after every chunk.
/// </summary>
internal abstract class StreamTranslator : ISseEventSink, IDisposable
{
    protected StreamTranslator(IBufferWriter<byte> output)
    {
        Output = output;
        Emitter = new SseEmitter(output);
    }

    protected SseEmitter Emitter { get; }

    /// <summary>Where translated bytes go.</summary>
    protected IBufferWriter<byte> Output { get; }

    public abstract void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data);

    /// <summary>Takes the stop reason and the cumulative usage from an Anthropic <c>message_delta</c> event.</summary>
    protected static void ReadMessageDelta(JsonElement root, ref string? stopReason, ref AnthropicUsage usage)
    {
        if (root.TryObj("delta", out var delta))
        {
            stopReason = delta.Str("stop_reason") ?? stopReason;
        }
        if (root.TryObj("usage", out var deltaUsage))
        {
            usage = usage.Merge(deltaUsage);
        }
    }

    /// <summary>Takes id, model and usage from an Anthropic <c>message_start</c> event, keeping the current values where it has none.</summary>
    protected static void ReadMessageStart(JsonElement root, ref string id, ref string model, ref AnthropicUsage usage)
    {
        if (!root.TryObj("message", out var message))
        {
            return;
        }
        id = message.Str("id") ?? id;
        model = message.Str("model") ?? model;
        if (message.TryObj("usage", out var usageElement))
        {
            usage = AnthropicUsage.From(usageElement);
        }
    }

    /// <summary>The upstream stream ended; close whatever is still open.</summary>
    public abstract void Complete();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Emitter.Dispose();
        }
    }
}

/// <summary>Anthropic Messages events -> Chat Completions chunks ending with <c>data: [DONE]</c>.</summary>
internal sealed class MessagesToChatStream(IBufferWriter<byte> output, long created, bool includeUsage) : StreamTranslator(output)
{
    private string _id = "msg";
    private string _model = string.Empty;
    private AnthropicUsage _usage;
    private readonly Dictionary<long, int> _toolIndexByBlock = [];
    private bool _done;
    private bool _failed;

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        switch (root.Kind())
        {
            case "message_start":
                ReadMessageStart(root, ref _id, ref _model, ref _usage);
                WriteDelta(static (w, _) =>
                {
                    w.WriteString("role", "assistant");
                    w.WriteString("content", string.Empty);
                }, 0);
                break;
            case "content_block_start":
                if (root.TryObj("content_block", out var block) && block.Str("type") == "tool_use")
                {
                    var toolIndex = _toolIndexByBlock.Count;
                    _toolIndexByBlock[root.Long("index") ?? 0] = toolIndex;
                    var w = BeginToolCallDelta(toolIndex);
                    w.WriteString("id", block.Str("id") ?? string.Empty);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", block.Str("name") ?? string.Empty);
                    w.WriteString("arguments", string.Empty);
                    w.WriteEndObject();
                    EndToolCallDelta();
                }
                break;
            case "content_block_delta":
                if (!root.TryObj("delta", out var delta))
                {
                    break;
                }
                switch (delta.Kind())
                {
                    case "text_delta":
                        WriteDelta(static (w, d) => w.WriteString("content", d.Str("text")), delta);
                        break;
                    case "thinking_delta":
                        WriteDelta(static (w, d) => w.WriteString("reasoning_content", d.Str("thinking")), delta);
                        break;
                    case "input_json_delta":
                        if (_toolIndexByBlock.TryGetValue(root.Long("index") ?? 0, out var index) && delta.Str("partial_json") is { Length: > 0 })
                        {
                            var w = BeginToolCallDelta(index);
                            w.WriteStartObject("function");
                            w.WriteString("arguments", delta.Str("partial_json") ?? string.Empty);
                            w.WriteEndObject();
                            EndToolCallDelta();
                        }
                        break;
                }
                break;
            case "message_delta":
                if (root.TryObj("usage", out var deltaUsage))
                {
                    _usage = _usage.Merge(deltaUsage);
                }
                var stop = root.TryObj("delta", out var messageDelta) ? messageDelta.Str("stop_reason") : null;
                var chunk = BeginChunk();
                chunk.WriteStartObject("delta");
                chunk.WriteEndObject();
                EndChunk(ResponseTranslator.ChatFinishReason(stop));
                break;
            case "message_stop":
                Finish();
                break;
            case "error":
                var error = Emitter.Begin([]);
                error.WriteStartObject();
                error.WriteStartObject("error");
                var upstream = root.TryObj("error", out var e) ? e : default;
                error.WriteString("message", upstream.Str("message") ?? "Upstream stream error");
                error.WriteString("type", upstream.Str("type") ?? "server_error");
                error.WriteNull("param");
                error.WriteNull("code");
                error.WriteEndObject();
                error.WriteEndObject();
                Emitter.End();
                _failed = true;
                Finish();
                break;
        }
    }

    public override void Complete() => Finish();

    private void Finish()
    {
        if (_done)
        {
            return;
        }
        _done = true;
        if (includeUsage && !_failed)
        {
            var w = BeginChunkHeader();
            w.WriteStartArray("choices");
            w.WriteEndArray();
            ResponseTranslator.WriteChatUsage(w, _usage);
            w.WriteEndObject();
            Emitter.End();
        }
        Emitter.Raw("[DONE]"u8);
    }

    private void WriteDelta<T>(Action<Utf8JsonWriter, T> body, T state)
    {
        var w = BeginChunk();
        w.WriteStartObject("delta");
        body(w, state);
        w.WriteEndObject();
        EndChunk(null);
    }

    /// <summary>Begins a chunk whose delta is one entry of <c>tool_calls</c>, at <paramref name="toolIndex"/>; <see cref="EndToolCallDelta"/> closes it.</summary>
    private Utf8JsonWriter BeginToolCallDelta(int toolIndex)
    {
        var w = BeginChunk();
        w.WriteStartObject("delta");
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", toolIndex);
        return w;
    }

    private void EndToolCallDelta()
    {
        var w = Emitter.Writer;
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        EndChunk(null);
    }

    private Utf8JsonWriter BeginChunkHeader()
    {
        var w = Emitter.Begin([]);
        w.WriteStartObject();
        w.WriteString("id", _id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", _model);
        return w;
    }

    private Utf8JsonWriter BeginChunk()
    {
        var w = BeginChunkHeader();
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        return w;
    }

    private void EndChunk(string? finishReason)
    {
        var w = Emitter.Writer;
        if (finishReason is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finishReason);
        }
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        Emitter.End();
    }
}
