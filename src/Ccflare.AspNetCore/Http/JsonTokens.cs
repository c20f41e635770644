using System.Text.Json;

namespace Ccflare.Http;

/// <summary>Token-level copying between <see cref="Utf8JsonReader"/> and <see cref="Utf8JsonWriter"/>.</summary>
internal static class JsonTokens
{
    /// <summary>
    /// Writes the reader's current scalar token (string, number, true, false; anything else as null).
    /// Numbers are copied as sent, strings re-escaped by the writer.
    /// </summary>
    public static void WriteScalar(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                writer.WriteStringValue(reader.GetString());
                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
