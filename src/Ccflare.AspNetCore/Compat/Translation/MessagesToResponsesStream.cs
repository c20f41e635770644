using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Anthropic Messages events -> OpenAI Responses <c>response.*</c> events.</summary>
internal sealed class MessagesToResponsesStream(IBufferWriter<byte> output, long created) : StreamTranslator(output)
{
    private static readonly JsonEncodedText Created = JsonEncodedText.Encode("response.created");
    private static readonly JsonEncodedText InProgress = JsonEncodedText.Encode("response.in_progress");
    private static readonly JsonEncodedText Completed = JsonEncodedText.Encode("response.completed");
    private static readonly JsonEncodedText Incomplete = JsonEncodedText.Encode("response.incomplete");
    private static readonly JsonEncodedText Failed = JsonEncodedText.Encode("response.failed");
    private static readonly JsonEncodedText ItemAdded = JsonEncodedText.Encode("response.output_item.added");
    private static readonly JsonEncodedText ItemDone = JsonEncodedText.Encode("response.output_item.done");
    private static readonly JsonEncodedText PartAdded = JsonEncodedText.Encode("response.content_part.added");
    private static readonly JsonEncodedText PartDone = JsonEncodedText.Encode("response.content_part.done");
    private static readonly JsonEncodedText TextDelta = JsonEncodedText.Encode("response.output_text.delta");
    private static readonly JsonEncodedText TextDone = JsonEncodedText.Encode("response.output_text.done");
    private static readonly JsonEncodedText ArgsDelta = JsonEncodedText.Encode("response.function_call_arguments.delta");
    private static readonly JsonEncodedText ArgsDone = JsonEncodedText.Encode("response.function_call_arguments.done");
    private static readonly JsonEncodedText SummaryPartAdded = JsonEncodedText.Encode("response.reasoning_summary_part.added");
    private static readonly JsonEncodedText SummaryPartDone = JsonEncodedText.Encode("response.reasoning_summary_part.done");
    private static readonly JsonEncodedText SummaryDelta = JsonEncodedText.Encode("response.reasoning_summary_text.delta");
    private static readonly JsonEncodedText SummaryDone = JsonEncodedText.Encode("response.reasoning_summary_text.done");

    private readonly Dictionary<long, Block> _blocks = [];
    private readonly List<byte[]> _doneItems = [];
    private string _id = "msg";
    private string _model = string.Empty;
    private AnthropicUsage _usage;
    private string? _stopReason;
    private int _sequence;
    private int _outputIndex;
    private bool _started;
    private bool _done;

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        switch (root.Kind())
        {
            case "message_start":
                ReadMessageStart(root, ref _id, ref _model, ref _usage);
                Start();
                break;
            case "content_block_start":
                Start();
                if (root.TryObj("content_block", out var content))
                {
                    OpenBlock(root.Long("index") ?? 0, content);
                }
                break;
            case "content_block_delta":
                if (root.TryObj("delta", out var delta) && _blocks.TryGetValue(root.Long("index") ?? 0, out var block))
                {
                    Delta(block, delta);
                }
                break;
            case "content_block_stop":
                var index = root.Long("index") ?? 0;
                if (_blocks.Remove(index, out var closing))
                {
                    CloseBlock(closing);
                }
                break;
            case "message_delta":
                ReadMessageDelta(root, ref _stopReason, ref _usage);
                break;
            case "message_stop":
                Finish();
                break;
            case "error":
                Start();
                var w = Begin(Failed);
                w.WritePropertyName("response");
                WriteResponse(w, "failed", withOutput: true);
                End();
                _done = true;
                break;
        }
    }

    public override void Complete() => Finish();

    private void Start()
    {
        if (_started)
        {
            return;
        }
        _started = true;
        var w = Begin(Created);
        w.WritePropertyName("response");
        WriteResponse(w, "in_progress", withOutput: false);
        End();
        w = Begin(InProgress);
        w.WritePropertyName("response");
        WriteResponse(w, "in_progress", withOutput: false);
        End();
    }

    private void Finish()
    {
        if (_done)
        {
            return;
        }
        Start();
        _done = true;
        foreach (var open in _blocks.Values)
        {
            CloseBlock(open);
        }
        _blocks.Clear();
        var incomplete = _stopReason is "max_tokens" or "model_context_window_exceeded" or "refusal";
        var w = Begin(incomplete ? Incomplete : Completed);
        w.WritePropertyName("response");
        WriteResponse(w, incomplete ? "incomplete" : "completed", withOutput: true);
        End();
    }

    private void OpenBlock(long index, JsonElement content)
    {
        var type = content.Str("type");
        var block = new Block { OutputIndex = _outputIndex++ };
        switch (type)
        {
            case "text":
                block.Kind = BlockKind.Text;
                block.ItemId = _outputIndex == 1 ? _id : string.Concat(_id, "_", block.OutputIndex.ToString(CultureInfo.InvariantCulture));
                break;
            case "tool_use":
                block.Kind = BlockKind.Tool;
                block.CallId = content.Str("id") ?? string.Empty;
                block.Name = content.Str("name") ?? string.Empty;
                block.ItemId = "fc_" + block.CallId;
                break;
            case "thinking":
                block.Kind = BlockKind.Thinking;
                block.ItemId = string.Concat("rs_", _id, "_", block.OutputIndex.ToString(CultureInfo.InvariantCulture));
                break;
            default:
                // redacted_thinking, server tool blocks: nothing a Responses client can use.
                _outputIndex--;
                return;
        }
        _blocks[index] = block;
        var w = Begin(ItemAdded);
        w.WriteNumber("output_index", block.OutputIndex);
        w.WritePropertyName("item");
        WriteItem(w, block, done: false);
        End();
        if (block.Kind != BlockKind.Tool)
        {
            w = BeginPart(block, PartAdded, SummaryPartAdded);
            WritePart(w, block, string.Empty);
            End();
        }
    }

    private void Delta(Block block, JsonElement delta)
    {
        string? text;
        Utf8JsonWriter w;
        switch (delta.Kind())
        {
            case "text_delta" when block.Kind == BlockKind.Text:
            case "thinking_delta" when block.Kind == BlockKind.Thinking:
                text = delta.Str(block.Kind == BlockKind.Text ? "text" : "thinking") ?? string.Empty;
                block.Text.Append(text);
                w = BeginPart(block, TextDelta, SummaryDelta);
                w.WriteString("delta", text);
                End();
                break;
            case "input_json_delta" when block.Kind == BlockKind.Tool:
                text = delta.Str("partial_json") ?? string.Empty;
                if (text.Length == 0)
                {
                    break;
                }
                block.Text.Append(text);
                w = Begin(ArgsDelta);
                WriteItemRef(w, block);
                w.WriteString("delta", text);
                End();
                break;
        }
    }

    private void CloseBlock(Block block)
    {
        var text = block.Text.ToString();
        Utf8JsonWriter w;
        switch (block.Kind)
        {
            case BlockKind.Text:
            case BlockKind.Thinking:
                w = BeginPart(block, TextDone, SummaryDone);
                w.WriteString("text", text);
                End();
                w = BeginPart(block, PartDone, SummaryPartDone);
                WritePart(w, block, text);
                End();
                break;
            case BlockKind.Tool:
                w = Begin(ArgsDone);
                WriteItemRef(w, block);
                w.WriteString("arguments", text.Length == 0 ? "{}" : text);
                End();
                break;
        }
        var item = new ArrayBufferWriter<byte>(256);
        using (var itemWriter = new Utf8JsonWriter(item, TranslationJson.WriterOptions))
        {
            WriteItem(itemWriter, block, done: true);
        }
        var bytes = item.WrittenSpan.ToArray();
        _doneItems.Add(bytes);
        w = Begin(ItemDone);
        w.WriteNumber("output_index", block.OutputIndex);
        w.WritePropertyName("item");
        w.WriteRawValue(bytes, skipInputValidation: true);
        End();
    }

    private static void WriteItem(Utf8JsonWriter w, Block block, bool done)
    {
        var text = done ? block.Text.ToString() : string.Empty;
        w.WriteStartObject();
        switch (block.Kind)
        {
            case BlockKind.Text:
                w.WriteString("type", "message");
                w.WriteString("id", block.ItemId);
                w.WriteString("status", done ? "completed" : "in_progress");
                w.WriteString("role", "assistant");
                w.WriteStartArray("content");
                if (done)
                {
                    WriteTextPart(w, text);
                }
                w.WriteEndArray();
                break;
            case BlockKind.Tool:
                w.WriteString("type", "function_call");
                w.WriteString("id", block.ItemId);
                w.WriteString("call_id", block.CallId);
                w.WriteString("name", block.Name);
                w.WriteString("arguments", done && text.Length == 0 ? "{}" : text);
                w.WriteString("status", done ? "completed" : "in_progress");
                break;
            case BlockKind.Thinking:
                w.WriteString("type", "reasoning");
                w.WriteString("id", block.ItemId);
                w.WriteStartArray("summary");
                if (done)
                {
                    WriteSummaryPart(w, text);
                }
                w.WriteEndArray();
                break;
        }
        w.WriteEndObject();
    }

    private static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSummaryPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "summary_text");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    /// <summary>
    /// Begins an event about the one part of a text block (output text) or a thinking block
    /// (reasoning summary): both stream the same events, under different names.
    /// </summary>
    private Utf8JsonWriter BeginPart(Block block, JsonEncodedText textEvent, JsonEncodedText summaryEvent)
    {
        var isText = block.Kind == BlockKind.Text;
        var w = Begin(isText ? textEvent : summaryEvent);
        WriteItemRef(w, block);
        w.WriteNumber(isText ? "content_index" : "summary_index", 0);
        return w;
    }

    private static void WritePart(Utf8JsonWriter w, Block block, string text)
    {
        w.WritePropertyName("part");
        if (block.Kind == BlockKind.Text)
        {
            WriteTextPart(w, text);
        }
        else
        {
            WriteSummaryPart(w, text);
        }
    }

    private static void WriteItemRef(Utf8JsonWriter w, Block block)
    {
        w.WriteString("item_id", block.ItemId);
        w.WriteNumber("output_index", block.OutputIndex);
    }

    private void WriteResponse(Utf8JsonWriter w, string status, bool withOutput)
    {
        w.WriteStartObject();
        w.WriteString("id", "resp_" + _id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", created);
        if (status is "completed" or "incomplete")
        {
            ResponseTranslator.WriteResponsesStatus(w, _stopReason);
        }
        else
        {
            w.WriteString("status", status);
            w.WriteNull("incomplete_details");
        }
        w.WriteString("model", _model);
        w.WriteStartArray("output");
        if (withOutput)
        {
            foreach (var item in _doneItems)
            {
                w.WriteRawValue(item, skipInputValidation: true);
            }
        }
        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls", true);
        w.WriteString("tool_choice", "auto");
        w.WriteStartArray("tools");
        w.WriteEndArray();
        if (withOutput)
        {
            ResponseTranslator.WriteResponsesUsage(w, _usage);
        }
        else
        {
            w.WriteNull("usage");
        }
        w.WriteEndObject();
    }

    private Utf8JsonWriter Begin(JsonEncodedText type)
    {
        var w = Emitter.Begin(type.EncodedUtf8Bytes);
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteNumber("sequence_number", _sequence++);
        return w;
    }

    private void End()
    {
        Emitter.Writer.WriteEndObject();
        Emitter.End();
    }

    private enum BlockKind
    {
        Text,
        Tool,
        Thinking,
    }

    private sealed class Block
    {
        public BlockKind Kind { get; set; }
        public int OutputIndex { get; init; }
        public string ItemId { get; set; } = string.Empty;
        public string CallId { get; set; } = string.Empty;
        public string Name { get; set; } = string.Empty;
        public StringBuilder Text { get; } = new();
    }
}
