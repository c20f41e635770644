using System.Buffers;
using System.Text.Json;
using Ccflare.Http;

namespace Ccflare.Usage;

/// <summary>
/// Reads token usage, the response id and the model from a captured response body: Anthropic
/// Messages, OpenAI Chat Completions and OpenAI Responses, as JSON or as an SSE stream.
/// Runs once per request on the captured copy when the request is acknowledged (or in the background
/// writer), never inside the proxy's copy loop.
/// Truncated or malformed captures yield whatever could be read; this never throws.
/// </summary>
internal static class UsageParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    public static UsageInfo Parse(ReadOnlyMemory<byte> body, bool isStreaming)
    {
        if (body.IsEmpty)
        {
            return UsageInfo.Empty;
        }
        var usage = new Accumulator();
        try
        {
            if (isStreaming || LooksLikeSse(body.Span))
            {
                ParseSse(body, ref usage);
            }
            else
            {
                ParseEvent(body, ref usage);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // Keep what was read before the damage.
        }
        return usage.ToInfo();
    }

    private static bool LooksLikeSse(ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \t\r\n"u8);
        return trimmed.StartsWith("event:"u8) || trimmed.StartsWith("data:"u8) || trimmed.StartsWith(":"u8);
    }

    /// <summary>Splits an SSE stream into events and parses each event's data as JSON.</summary>
    private static void ParseSse(ReadOnlyMemory<byte> body, ref Accumulator usage)
    {
        var span = body.Span;
        var position = 0;
        // Data of the current event: one slice in the common case, joined lines otherwise.
        var dataStart = -1;
        var dataLength = 0;
        ArrayBufferWriter<byte>? joined = null;
        while (position < span.Length)
        {
            var rest = span[position..];
            var lineEnd = rest.IndexOfAny((byte)'\n', (byte)'\r');
            var line = lineEnd < 0 ? rest : rest[..lineEnd];
            var lineStart = position;
            var advance = lineEnd < 0 ? rest.Length : lineEnd + 1;
            if (lineEnd >= 0 && rest[lineEnd] == '\r' && lineEnd + 1 < rest.Length && rest[lineEnd + 1] == '\n')
            {
                advance++;
            }
            position += advance;

            if (line.IsEmpty)
            {
                Dispatch(body, ref dataStart, ref dataLength, ref joined, ref usage);
                continue;
            }
            if (!line.StartsWith("data:"u8))
            {
                continue; // event:, id:, retry: and comments carry nothing we need.
            }
            var valueOffset = 5;
            if (line.Length > 5 && line[5] == ' ')
            {
                valueOffset = 6;
            }
            var valueStart = lineStart + valueOffset;
            var valueLength = line.Length - valueOffset;
            if (dataStart < 0 && joined is null)
            {
                dataStart = valueStart;
                dataLength = valueLength;
            }
            else
            {
                if (joined is null)
                {
                    joined = new ArrayBufferWriter<byte>(dataLength + valueLength + 1);
                    joined.Write(span.Slice(dataStart, dataLength));
                    dataStart = -1;
                }
                joined.Write("\n"u8);
                joined.Write(span.Slice(valueStart, valueLength));
            }
        }
        // A capture cut mid-event: parse what is there.
        Dispatch(body, ref dataStart, ref dataLength, ref joined, ref usage);
    }

    private static void Dispatch(ReadOnlyMemory<byte> body, ref int dataStart, ref int dataLength, ref ArrayBufferWriter<byte>? joined, ref Accumulator usage)
    {
        ReadOnlyMemory<byte> data;
        if (joined is not null)
        {
            data = joined.WrittenMemory;
        }
        else if (dataStart >= 0)
        {
            data = body.Slice(dataStart, dataLength);
        }
        else
        {
            return;
        }
        dataStart = -1;
        dataLength = 0;
        joined = null;
        var trimmed = data.Span.Trim(" \t"u8);
        if (trimmed.IsEmpty || trimmed.SequenceEqual("[DONE]"u8) || trimmed[0] != '{')
        {
            return;
        }
        try
        {
            ParseEvent(data, ref usage);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // One bad event does not spoil the others.
        }
    }

    /// <summary>Parses one JSON object (a whole body or one event's data), tolerating truncation.</summary>
    private static void ParseEvent(ReadOnlyMemory<byte> json, ref Accumulator usage)
    {
        if (TryApplyWithoutDocument(json.Span, ref usage))
        {
            return;
        }
        JsonDocument? document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException)
        {
            document = ParseCompleteProperties(json.Span);
        }
        if (document is null)
        {
            return;
        }
        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                Apply(document.RootElement, ref usage);
            }
        }
    }

    /// <summary>
    /// The common stream events, read from their top level alone: events that cannot carry usage
    /// or identity (Anthropic content deltas and pings, Responses deltas) are skipped, and Chat
    /// Completions chunks without a usage object only set the format, id and model (allocating
    /// the strings only when they change). Returns false when <see cref="Apply"/> must see the
    /// document; the outcome is the same either way.
    /// </summary>
    private static bool TryApplyWithoutDocument(ReadOnlySpan<byte> json, ref Accumulator usage)
    {
        ReadOnlySpan<byte> type = default, objectKind = default, id = default, model = default;
        bool hasType = false, hasObject = false, hasUsage = false, usageIsObject = false, hasResponse = false, hasId = false, hasModel = false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 128 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueIsEscaped)
                {
                    return false;
                }
                var name = reader.ValueSpan;
                if (!reader.Read())
                {
                    return false;
                }
                var isString = reader.TokenType == JsonTokenType.String;
                if (isString && reader.ValueIsEscaped && (name.SequenceEqual("type"u8) || name.SequenceEqual("object"u8) || name.SequenceEqual("id"u8) || name.SequenceEqual("model"u8)))
                {
                    return false;
                }
                // Later duplicates win, as with JsonElement.TryGetProperty.
                if (name.SequenceEqual("type"u8))
                {
                    hasType = isString;
                    type = isString ? reader.ValueSpan : default;
                }
                else if (name.SequenceEqual("object"u8))
                {
                    hasObject = true;
                    objectKind = isString ? reader.ValueSpan : default;
                }
                else if (name.SequenceEqual("usage"u8))
                {
                    hasUsage = true;
                    usageIsObject = reader.TokenType == JsonTokenType.StartObject;
                }
                else if (name.SequenceEqual("response"u8))
                {
                    hasResponse = true;
                }
                else if (name.SequenceEqual("id"u8))
                {
                    hasId = isString;
                    id = isString ? reader.ValueSpan : default;
                }
                else if (name.SequenceEqual("model"u8))
                {
                    hasModel = isString;
                    model = isString ? reader.ValueSpan : default;
                }
                if (!reader.TrySkip())
                {
                    return false;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0)
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (hasType)
        {
            if (type.StartsWith("response."u8))
            {
                return !hasResponse;
            }
            if (type.SequenceEqual("message"u8) || type.SequenceEqual("message_start"u8) || type.SequenceEqual("message_delta"u8) || type.SequenceEqual("error"u8))
            {
                return false;
            }
        }
        if (!hasObject)
        {
            // Nothing but the usage object's shape could identify it.
            return !hasUsage;
        }
        if (!(objectKind.SequenceEqual("chat.completion.chunk"u8) || objectKind.SequenceEqual("chat.completion"u8)) || usageIsObject)
        {
            return false;
        }
        usage.Format = UsageFormat.OpenAIChatCompletions;
        if (hasId && id.Length > 0)
        {
            usage.ResponseId = Reuse(usage.ResponseId, id);
        }
        if (hasModel && model.Length > 0)
        {
            usage.Model = Reuse(usage.Model, model);
        }
        return true;
    }

    /// <summary><paramref name="current"/> when it already holds <paramref name="utf8"/>, else a new string.</summary>
    private static string Reuse(string? current, ReadOnlySpan<byte> utf8) =>
        current is not null && System.Text.Ascii.Equals(utf8, current) ? current : System.Text.Encoding.UTF8.GetString(utf8);

    /// <summary>
    /// For a truncated object: rebuilds an object from the top-level properties whose values
    /// are complete, so the usual logic can read them. Returns null when nothing is complete.
    /// </summary>
    internal static JsonDocument? ParseCompleteProperties(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: false, state: new JsonReaderState(new JsonReaderOptions { MaxDepth = 128 }));
        var output = new ArrayBufferWriter<byte>(Math.Min(json.Length, 4096) + 16);
        var any = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            using var writer = new Utf8JsonWriter(output);
            writer.WriteStartObject();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!reader.Read())
                {
                    break;
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (!JsonDocument.TryParseValue(ref reader, out var value))
                    {
                        break;
                    }
                    using (value)
                    {
                        writer.WritePropertyName(name);
                        value.RootElement.WriteTo(writer);
                    }
                }
                else
                {
                    writer.WritePropertyName(name);
                    JsonTokens.WriteScalar(ref reader, writer);
                }
                any = true;
            }
            writer.WriteEndObject();
            writer.Flush();
        }
        catch (JsonException)
        {
            return null;
        }
        return any ? JsonDocument.Parse(output.WrittenMemory) : null;
    }

    private static void Apply(JsonElement root, ref Accumulator usage)
    {
        var type = GetString(root, "type");
        var objectKind = GetString(root, "object");
        switch (type)
        {
            case "message":
                usage.Format = UsageFormat.AnthropicMessages;
                ReadIdentity(root, ref usage);
                ApplyAnthropicUsage(root, ref usage);
                return;
            case "message_start":
                usage.Format = UsageFormat.AnthropicMessages;
                if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                {
                    ReadIdentity(message, ref usage);
                    ApplyAnthropicUsage(message, ref usage);
                }
                return;
            case "message_delta":
                usage.Format = UsageFormat.AnthropicMessages;
                ApplyAnthropicUsage(root, ref usage);
                return;
            case "error":
                return;
        }
        if (type is not null && type.StartsWith("response.", StringComparison.Ordinal))
        {
            if (root.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object)
            {
                usage.Format = UsageFormat.OpenAIResponses;
                ReadIdentity(response, ref usage);
                ApplyResponsesUsage(response, ref usage);
            }
            return;
        }
        if (objectKind == "response")
        {
            usage.Format = UsageFormat.OpenAIResponses;
            ReadIdentity(root, ref usage);
            ApplyResponsesUsage(root, ref usage);
            return;
        }
        if (objectKind is "chat.completion" or "chat.completion.chunk")
        {
            usage.Format = UsageFormat.OpenAIChatCompletions;
            ReadIdentity(root, ref usage);
            ApplyChatUsage(root, ref usage);
            return;
        }
        // Unknown envelope: go by the usage object's shape.
        if (root.TryGetProperty("usage", out var bare) && bare.ValueKind == JsonValueKind.Object)
        {
            if (bare.TryGetProperty("prompt_tokens", out _))
            {
                usage.Format = UsageFormat.OpenAIChatCompletions;
                ReadIdentity(root, ref usage);
                ApplyChatUsage(root, ref usage);
            }
            else if (bare.TryGetProperty("input_tokens_details", out _) || bare.TryGetProperty("output_tokens_details", out _))
            {
                usage.Format = UsageFormat.OpenAIResponses;
                ReadIdentity(root, ref usage);
                ApplyResponsesUsage(root, ref usage);
            }
            else if (bare.TryGetProperty("input_tokens", out _) || bare.TryGetProperty("output_tokens", out _))
            {
                usage.Format = UsageFormat.AnthropicMessages;
                ReadIdentity(root, ref usage);
                ApplyAnthropicUsage(root, ref usage);
            }
        }
    }

    private static void ReadIdentity(JsonElement element, ref Accumulator usage)
    {
        if (GetString(element, "id") is { Length: > 0 } id)
        {
            usage.ResponseId = id;
        }
        if (GetString(element, "model") is { Length: > 0 } model)
        {
            usage.Model = model;
        }
    }

    private static void ApplyAnthropicUsage(JsonElement owner, ref Accumulator usage)
    {
        if (!owner.TryGetProperty("usage", out var u) || u.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        // message_delta carries cumulative counts; later values win.
        usage.Input = GetLong(u, "input_tokens") ?? usage.Input;
        usage.Output = GetLong(u, "output_tokens") ?? usage.Output;
        usage.CacheRead = GetLong(u, "cache_read_input_tokens") ?? usage.CacheRead;
        usage.CacheCreation = GetLong(u, "cache_creation_input_tokens") ?? usage.CacheCreation;
    }

    private static void ApplyChatUsage(JsonElement owner, ref Accumulator usage) =>
        ApplyOpenAIUsage(owner, ref usage, "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details");

    private static void ApplyResponsesUsage(JsonElement owner, ref Accumulator usage) =>
        ApplyOpenAIUsage(owner, ref usage, "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details");

    /// <summary>Chat Completions and Responses report the same counts under different names.</summary>
    private static void ApplyOpenAIUsage(JsonElement owner, ref Accumulator usage, string input, string output, string inputDetails, string outputDetails)
    {
        if (!owner.TryGetProperty("usage", out var u) || u.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        usage.Prompt = GetLong(u, input) ?? usage.Prompt;
        usage.Completion = GetLong(u, output) ?? usage.Completion;
        usage.Total = GetLong(u, "total_tokens") ?? usage.Total;
        if (u.TryGetProperty(inputDetails, out var inputDetail) && inputDetail.ValueKind == JsonValueKind.Object)
        {
            usage.CacheRead = GetLong(inputDetail, "cached_tokens") ?? usage.CacheRead;
        }
        if (u.TryGetProperty(outputDetails, out var outputDetail) && outputDetail.ValueKind == JsonValueKind.Object)
        {
            usage.Reasoning = GetLong(outputDetail, "reasoning_tokens") ?? usage.Reasoning;
        }
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? GetLong(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0
            ? number
            : null;

    private struct Accumulator
    {
        public UsageFormat Format;
        public string? ResponseId;
        public string? Model;

        // Anthropic.
        public long? Input;
        public long? Output;
        public long? CacheCreation;

        // Shared by both: Anthropic cache reads and OpenAI cached prompt tokens.
        public long? CacheRead;

        // OpenAI (chat: prompt/completion; Responses: input/output, which include cached/reasoning).
        public long? Prompt;
        public long? Completion;
        public long? Total;
        public long? Reasoning;

        public readonly UsageInfo ToInfo()
        {
            switch (Format)
            {
                case UsageFormat.AnthropicMessages:
                {
                    var hasInput = Input is not null || CacheRead is not null || CacheCreation is not null;
                    long? prompt = hasInput ? (Input ?? 0) + (CacheRead ?? 0) + (CacheCreation ?? 0) : null;
                    long? total = prompt is null && Output is null ? null : (prompt ?? 0) + (Output ?? 0);
                    return new UsageInfo
                    {
                        Format = Format,
                        ResponseId = ResponseId,
                        Model = Model,
                        InputTokens = Input,
                        CacheReadInputTokens = CacheRead,
                        CacheCreationInputTokens = CacheCreation,
                        OutputTokens = Output,
                        PromptTokens = prompt,
                        CompletionTokens = Output,
                        TotalTokens = total,
                    };
                }
                case UsageFormat.OpenAIChatCompletions:
                case UsageFormat.OpenAIResponses:
                {
                    long? uncached = Prompt is { } p ? Math.Max(0, p - (CacheRead ?? 0)) : null;
                    long? total = Total ?? (Prompt is null && Completion is null ? null : (Prompt ?? 0) + (Completion ?? 0));
                    return new UsageInfo
                    {
                        Format = Format,
                        ResponseId = ResponseId,
                        Model = Model,
                        InputTokens = uncached,
                        CacheReadInputTokens = Prompt is null ? null : CacheRead ?? 0,
                        OutputTokens = Completion,
                        ReasoningTokens = Reasoning,
                        PromptTokens = Prompt,
                        CompletionTokens = Completion,
                        TotalTokens = total,
                    };
                }
                default:
                    return new UsageInfo { ResponseId = ResponseId, Model = Model };
            }
        }
    }
}
