using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Tolerant accessors: a field of the wrong type reads as absent instead of throwing.</summary>
internal static class J
{
    public static string? Str(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// The <c>type</c> string, like <c>Str("type")</c>, but the event and delta types of a stream
    /// come back as shared constants instead of a new string per event.
    /// </summary>
    public static string? Kind(this JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("type"u8, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        foreach (var (utf8, kind) in Kinds)
        {
            if (value.ValueEquals(utf8))
            {
                return kind;
            }
        }
        return value.GetString();
    }

    // Most frequent first: a stream is mostly deltas.
    private static readonly (byte[] Utf8, string Kind)[] Kinds = Array.ConvertAll(
        new[]
        {
            "content_block_delta", "text_delta", "response.output_text.delta", "input_json_delta", "thinking_delta",
            "response.function_call_arguments.delta", "response.reasoning_summary_text.delta", "signature_delta",
            "content_block_start", "content_block_stop", "message_start", "message_delta", "message_stop", "ping", "error",
        },
        kind => (System.Text.Encoding.UTF8.GetBytes(kind), kind));

    public static long? Long(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public static bool? Bool(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    public static bool TryProp(this JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }
        value = default;
        return false;
    }

    public static bool TryObj(this JsonElement element, string name, out JsonElement value) =>
        element.TryProp(name, out value) && value.ValueKind == JsonValueKind.Object;

    public static bool TryArr(this JsonElement element, string name, out JsonElement value) =>
        element.TryProp(name, out value) && value.ValueKind == JsonValueKind.Array;

    /// <summary>Copies a number/bool/string field under another name when present.</summary>
    public static void CopyScalar(this JsonElement source, string name, Utf8JsonWriter writer, string asName)
    {
        if (source.TryProp(name, out var value) && value.ValueKind is JsonValueKind.Number or JsonValueKind.String or JsonValueKind.True or JsonValueKind.False)
        {
            writer.WritePropertyName(asName);
            value.WriteTo(writer);
        }
    }

    /// <summary>Writes a JSON text (a tool call's arguments) as a value; invalid or empty text becomes <c>{}</c>.</summary>
    public static void WriteJsonText(Utf8JsonWriter writer, string? json)
    {
        if (!string.IsNullOrWhiteSpace(json))
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                document.RootElement.WriteTo(writer);
                return;
            }
            catch (JsonException)
            {
                // Fall through: a model produced broken arguments; send an empty object.
            }
        }
        writer.WriteStartObject();
        writer.WriteEndObject();
    }

    /// <summary>Serialises a value to its compact JSON text (for tool arguments carried as strings).</summary>
    public static string ToJsonText(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            return "{}";
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, TranslationJson.WriterOptions))
        {
            value.WriteTo(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The text of a string or of an array of text parts (<c>text</c>, <c>input_text</c>, <c>output_text</c>).</summary>
    public static string TextOf(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? string.Empty;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }
        string? single = null;
        System.Text.StringBuilder? builder = null;
        foreach (var part in content.EnumerateArray())
        {
            var text = part.ValueKind == JsonValueKind.String ? part.GetString() : part.Str("text");
            if (text is null)
            {
                continue;
            }
            if (single is null && builder is null)
            {
                single = text;
                continue;
            }
            builder ??= new System.Text.StringBuilder(single);
            builder.Append('\n').Append(text);
        }
        return builder?.ToString() ?? single ?? string.Empty;
    }
}
