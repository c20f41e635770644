using System.Buffers;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>
/// Makes a Responses request body stream and stay unstored (<c>"stream": true</c>,
/// <c>"store": false</c>), for upstreams that take nothing else.
/// </summary>
internal static class StreamingUnstored
{
    /// <summary>True when the body already says <c>stream: true</c> and <c>store: false</c> at the top level (or is not a JSON object).</summary>
    public static bool IsSatisfied(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return true;
            }
            var streams = false;
            var unstored = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isStream = reader.ValueTextEquals("stream"u8);
                var isStore = reader.ValueTextEquals("store"u8);
                reader.Read();
                streams |= isStream && reader.TokenType == JsonTokenType.True;
                unstored |= isStore && reader.TokenType == JsonTokenType.False;
                reader.TrySkip();
            }
            return streams && unstored;
        }
        catch (JsonException)
        {
            // Not JSON: the upstream answers it as it sees fit.
            return true;
        }
    }

    /// <summary>Whether the client asked for a stream (<c>"stream": true</c>).</summary>
    public static bool ClientStreams(JsonElement root) => root.ValueKind == JsonValueKind.Object && root.Bool("stream") == true;

    /// <summary>A copy of the object with <c>stream</c> and <c>store</c> replaced.</summary>
    public static byte[] Apply(ReadOnlySpan<byte> json)
    {
        using var document = Http.LargeJsonDocuments.Parse(json.ToArray());
        var output = new ArrayBufferWriter<byte>(json.Length + 32);
        using (var writer = new Utf8JsonWriter(output, TranslationJson.WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("stream"u8) || property.NameEquals("store"u8))
                {
                    continue;
                }
                property.WriteTo(writer);
            }
            writer.WriteBoolean("stream", true);
            writer.WriteBoolean("store", false);
            writer.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }
}
