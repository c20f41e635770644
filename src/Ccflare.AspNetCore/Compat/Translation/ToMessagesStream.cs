using System.Buffers;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Writes Anthropic Messages stream events, tracking the open content block.</summary>
internal abstract class ToMessagesStream(IBufferWriter<byte> output) : StreamTranslator(output)
{
    private enum Open
    {
        None,
        Text,
        Thinking,
        Tool,
    }

    private Open _open;
    private int _index = -1;
    private bool _started;
    private bool _finished;

    protected bool Started => _started;

    protected bool Finished => _finished;

    protected bool SawTool { get; private set; }

    protected void Start(string id, string model)
    {
        if (_started)
        {
            return;
        }
        _started = true;
        var w = Begin("message_start"u8);
        w.WriteStartObject("message");
        ResponseTranslator.WriteMessageHead(w, id, model);
        ResponseTranslator.WriteMessageTail(w, stopReason: null, default);
        w.WriteEndObject();
        End();
    }

    protected void TextDelta(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }
        if (_open != Open.Text)
        {
            OpenBlock(Open.Text, null, null);
        }
        WriteDelta("text_delta", "text", text);
    }

    protected void ThinkingDelta(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }
        if (_open != Open.Thinking)
        {
            OpenBlock(Open.Thinking, null, null);
        }
        WriteDelta("thinking_delta", "thinking", text);
    }

    protected void OpenText()
    {
        if (_open != Open.Text)
        {
            OpenBlock(Open.Text, null, null);
        }
    }

    protected void OpenThinking()
    {
        if (_open != Open.Thinking)
        {
            OpenBlock(Open.Thinking, null, null);
        }
    }

    protected void OpenTool(string id, string name) => OpenBlock(Open.Tool, id, name);

    protected bool ToolOpen => _open == Open.Tool;

    protected void ArgumentsDelta(string? json)
    {
        if (string.IsNullOrEmpty(json) || _open != Open.Tool)
        {
            return;
        }
        WriteDelta("input_json_delta", "partial_json", json);
    }

    protected void CloseBlock()
    {
        if (_open == Open.None)
        {
            return;
        }
        _open = Open.None;
        var w = Begin("content_block_stop"u8);
        w.WriteNumber("index", _index);
        End();
    }

    protected void Finish(string stopReason, AnthropicUsage usage)
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        Start("msg", string.Empty);
        CloseBlock();
        var w = Begin("message_delta"u8);
        w.WriteStartObject("delta");
        w.WriteString("stop_reason", stopReason);
        w.WriteNull("stop_sequence");
        w.WriteEndObject();
        ResponseTranslator.WriteAnthropicUsage(w, usage);
        End();
        w = Begin("message_stop"u8);
        End();
    }

    protected void Error(string type, string message)
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        var w = Begin("error"u8);
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        w.WriteEndObject();
        End();
    }

    private void OpenBlock(Open kind, string? id, string? name)
    {
        CloseBlock();
        _open = kind;
        _index++;
        var w = Begin("content_block_start"u8);
        w.WriteNumber("index", _index);
        w.WriteStartObject("content_block");
        switch (kind)
        {
            case Open.Text:
                w.WriteString("type", "text");
                w.WriteString("text", string.Empty);
                break;
            case Open.Thinking:
                w.WriteString("type", "thinking");
                w.WriteString("thinking", string.Empty);
                w.WriteString("signature", string.Empty);
                break;
            default:
                SawTool = true;
                w.WriteString("type", "tool_use");
                w.WriteString("id", id ?? string.Empty);
                w.WriteString("name", name ?? string.Empty);
                w.WriteStartObject("input");
                w.WriteEndObject();
                break;
        }
        w.WriteEndObject();
        End();
    }

    private void WriteDelta(string type, string field, string text)
    {
        var w = Begin("content_block_delta"u8);
        w.WriteNumber("index", _index);
        w.WriteStartObject("delta");
        w.WriteString("type", type);
        w.WriteString(field, text);
        w.WriteEndObject();
        End();
    }

    private Utf8JsonWriter Begin(ReadOnlySpan<byte> type)
    {
        var w = Emitter.Begin(type);
        w.WriteStartObject();
        w.WriteString("type"u8, type);
        return w;
    }

    private void End()
    {
        Emitter.Writer.WriteEndObject();
        Emitter.End();
    }
}

/// <summary>Chat Completions chunks -> Anthropic Messages events.</summary>
internal sealed class ChatToMessagesStream(IBufferWriter<byte> output) : ToMessagesStream(output)
{
    private readonly Dictionary<long, bool> _toolsSeen = [];
    private string? _finishReason;
    private AnthropicUsage _usage;
    private long _currentTool = -1;

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        if (data.Span.SequenceEqual("[DONE]"u8))
        {
            Complete();
            return;
        }
        if (Finished)
        {
            return;
        }
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        if (root.TryObj("error", out var error))
        {
            Error("api_error", error.Str("message") ?? "Upstream stream error");
            return;
        }
        if (!Started)
        {
            Start(root.Str("id") ?? "chatcmpl", root.Str("model") ?? string.Empty);
        }
        if (root.TryObj("usage", out var usage))
        {
            _usage = AnthropicUsage.FromOpenAI(usage);
        }
        if (!root.TryArr("choices", out var choices))
        {
            return;
        }
        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.TryObj("delta", out var delta))
            {
                ThinkingDelta(delta.Str("reasoning_content") ?? delta.Str("reasoning"));
                TextDelta(delta.Str("content"));
                if (delta.TryArr("tool_calls", out var calls))
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        var index = call.Long("index") ?? 0;
                        call.TryObj("function", out var function);
                        if (!_toolsSeen.ContainsKey(index))
                        {
                            _toolsSeen[index] = true;
                            _currentTool = index;
                            OpenTool(call.Str("id") ?? string.Empty, function.Str("name") ?? string.Empty);
                        }
                        if (index == _currentTool)
                        {
                            ArgumentsDelta(function.Str("arguments"));
                        }
                    }
                }
            }
            if (choice.Str("finish_reason") is { } finish)
            {
                _finishReason = finish;
                CloseBlock();
            }
            break;
        }
    }

    public override void Complete() =>
        Finish(ResponseTranslator.AnthropicStopReason(_finishReason), _usage);
}

/// <summary>OpenAI Responses events -> Anthropic Messages events.</summary>
internal sealed class ResponsesToMessagesStream(IBufferWriter<byte> output) : ToMessagesStream(output)
{
    private AnthropicUsage _usage;
    private string _stopReason = "end_turn";

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        if (Finished)
        {
            return;
        }
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        switch (root.Kind())
        {
            case "response.created":
            case "response.in_progress":
                root.TryObj("response", out var created);
                Start(created.Str("id") ?? "resp", created.Str("model") ?? string.Empty);
                break;
            case "response.output_item.added":
                if (root.TryObj("item", out var item))
                {
                    switch (item.Str("type"))
                    {
                        case "function_call":
                            OpenTool(item.Str("call_id") ?? item.Str("id") ?? string.Empty, item.Str("name") ?? string.Empty);
                            break;
                        case "reasoning":
                            OpenThinking();
                            break;
                    }
                }
                break;
            case "response.content_part.added":
                OpenText();
                break;
            case "response.output_text.delta":
            case "response.refusal.delta":
                TextDelta(root.Str("delta"));
                break;
            case "response.function_call_arguments.delta":
                ArgumentsDelta(root.Str("delta"));
                break;
            case "response.reasoning_summary_text.delta":
            case "response.reasoning_text.delta":
                ThinkingDelta(root.Str("delta"));
                break;
            case "response.content_part.done":
            case "response.output_item.done":
                CloseBlock();
                break;
            case "response.completed":
            case "response.incomplete":
                if (root.TryObj("response", out var response))
                {
                    if (response.TryObj("usage", out var usage))
                    {
                        _usage = AnthropicUsage.FromOpenAI(usage);
                    }
                    _stopReason = ResponseTranslator.ResponsesStopReason(response, SawTool);
                }
                Complete();
                break;
            case "response.failed":
                root.TryObj("response", out var failed);
                failed.TryObj("error", out var failure);
                Error("api_error", failure.Str("message") ?? "The upstream response failed");
                break;
            case "error":
                Error("api_error", root.Str("message") ?? "Upstream stream error");
                break;
        }
    }

    public override void Complete()
    {
        if (SawTool && _stopReason == "end_turn")
        {
            _stopReason = "tool_use";
        }
        Finish(_stopReason, _usage);
    }
}
