using System.Buffers;
using System.Text;
using System.Text.Json;
using Ccflare.Http;

namespace Ccflare.Recording;

/// <summary>
/// Keeps credentials out of stored payloads. Headers are masked by <see cref="Proxy.HeaderRules"/>;
/// this masks bodies: string values of JSON properties named like credentials
/// (<c>api_key</c>, <c>access_token</c>, <c>refresh_token</c>, <c>id_token</c>, <c>client_secret</c>,
/// <c>password</c>, <c>authorization</c>, ... in snake, camel or kebab case, at any depth), and
/// every literal occurrence of the serving account's own secrets anywhere in a body.
/// </summary>
internal static class PayloadMasking
{
    public const string Masked = "***";

    private static readonly string[] SensitiveNames =
    [
        "apikey", "xapikey", "accesstoken", "refreshtoken", "idtoken", "clientsecret", "secret", "password", "authorization", "token",
    ];

    /// <summary>True when a property called <paramref name="name"/> holds a credential.</summary>
    public static bool IsSensitiveProperty(ReadOnlySpan<char> name)
    {
        Span<char> normalized = stackalloc char[Math.Min(name.Length, 64)];
        var length = 0;
        foreach (var c in name)
        {
            if (c is '_' or '-')
            {
                continue;
            }
            if (length == normalized.Length)
            {
                return false;
            }
            normalized[length++] = char.ToLowerInvariant(c);
        }
        var key = normalized[..length];
        foreach (var candidate in SensitiveNames)
        {
            if (key.SequenceEqual(candidate))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The query string as stored: values of parameters named like credentials (<c>key</c>, <c>api_key</c>,
    /// <c>token</c>, <c>access_token</c>, <c>sig</c>, ...) become <c>***</c>. Returns <paramref name="query"/>
    /// itself when nothing needed masking (the usual case: no query at all).
    /// </summary>
    public static string MaskQuery(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return string.Empty;
        }
        StringBuilder? masked = null;
        var position = query[0] == '?' ? 1 : 0;
        var copied = 0;
        while (position < query.Length)
        {
            var end = query.IndexOf('&', position);
            if (end < 0)
            {
                end = query.Length;
            }
            var equals = query.IndexOf('=', position, end - position);
            if (equals > position && end > equals + 1 && IsSensitiveQueryName(Uri.UnescapeDataString(query[position..equals])))
            {
                masked ??= new StringBuilder(query.Length);
                masked.Append(query, copied, equals + 1 - copied).Append(Masked);
                copied = end;
            }
            position = end + 1;
        }
        if (masked is null)
        {
            return query;
        }
        return masked.Append(query, copied, query.Length - copied).ToString();
    }

    private static bool IsSensitiveQueryName(string name) =>
        IsSensitiveProperty(name)
        || name.Equals("key", StringComparison.OrdinalIgnoreCase)
        || name.Equals("sig", StringComparison.OrdinalIgnoreCase)
        || name.Equals("signature", StringComparison.OrdinalIgnoreCase)
        || name.Equals("code", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith("_key", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith("-key", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith("token", StringComparison.OrdinalIgnoreCase);

    /// <summary>Masks credentials in <paramref name="body"/>; returns the same array when nothing needed masking.</summary>
    public static byte[] Mask(byte[] body, IReadOnlyList<string> secrets)
    {
        var result = MaskJsonProperties(body);
        foreach (var secret in secrets)
        {
            result = ReplaceLiteral(result, secret);
        }
        return result;
    }

    /// <summary>
    /// A stored copy of <paramref name="body"/> cut to <paramref name="maxBytes"/> with
    /// <see cref="CutMarker"/> after it. Credentials are masked in the whole body before the cut (a cut
    /// JSON document cannot be parsed, and a secret may straddle the cut); a body that needs no masking,
    /// nearly every one, is copied only up to the cut.
    /// </summary>
    public static byte[] MaskAndCut(ReadOnlySpan<byte> body, IReadOnlyList<string> secrets, int maxBytes)
    {
        var source = NeedsMasking(body, secrets) ? Mask(body.ToArray(), secrets) : null;
        var kept = source is null ? body : source;
        var keep = Math.Min(maxBytes, kept.Length);
        var marker = Encoding.UTF8.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, CutMarker, kept.Length - keep));
        var result = GC.AllocateUninitializedArray<byte>(keep + marker.Length);
        kept[..keep].CopyTo(result);
        marker.CopyTo(result.AsSpan(keep));
        return result;
    }

    /// <summary>What follows a body cut at <see cref="CcflareOptions.MaxStoredPayloadBytes"/>; {0} is the number of bytes left out.</summary>
    public const string CutMarker = "\n[ccflare: {0} more bytes not stored]";

    private static bool NeedsMasking(ReadOnlySpan<byte> body, IReadOnlyList<string> secrets)
    {
        foreach (var secret in secrets)
        {
            if (secret.Length >= 8 && body.IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0)
            {
                return true;
            }
        }
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return false;
        }
        try
        {
            return ContainsSensitiveProperty(body);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Rewrites a JSON document with credential-named string properties masked. Non-JSON input is returned unchanged.</summary>
    internal static byte[] MaskJsonProperties(byte[] body)
    {
        var trimmed = body.AsSpan().TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return body;
        }
        try
        {
            if (!ContainsSensitiveProperty(body))
            {
                return body;
            }
            var output = new ArrayBufferWriter<byte>(body.Length);
            using (var writer = new Utf8JsonWriter(output))
            {
                var reader = new Utf8JsonReader(body);
                var maskNext = false;
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.PropertyName:
                            var name = reader.GetString()!;
                            maskNext = IsSensitiveProperty(name);
                            writer.WritePropertyName(name);
                            continue;
                        case JsonTokenType.String when maskNext:
                            writer.WriteStringValue(Masked);
                            break;
                        case JsonTokenType.StartObject:
                            writer.WriteStartObject();
                            break;
                        case JsonTokenType.EndObject:
                            writer.WriteEndObject();
                            break;
                        case JsonTokenType.StartArray:
                            writer.WriteStartArray();
                            break;
                        case JsonTokenType.EndArray:
                            writer.WriteEndArray();
                            break;
                        default:
                            JsonTokens.WriteScalar(ref reader, writer);
                            break;
                    }
                    maskNext = false;
                }
            }
            return output.WrittenSpan.ToArray();
        }
        catch (JsonException)
        {
            return body; // Not valid JSON (for example truncated); literal secrets are still scrubbed.
        }
    }

    private static bool ContainsSensitiveProperty(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                if (IsSensitivePropertyName(ref reader))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /// <summary>
    /// <see cref="IsSensitiveProperty"/> for the property name under the reader, without allocating
    /// a string for plain ASCII names (nearly all of them).
    /// </summary>
    private static bool IsSensitivePropertyName(ref Utf8JsonReader reader)
    {
        var raw = reader.HasValueSequence ? default : reader.ValueSpan;
        if (reader.ValueIsEscaped || reader.HasValueSequence || !System.Text.Ascii.IsValid(raw) || raw.Length > 128)
        {
            return IsSensitiveProperty(reader.GetString());
        }
        Span<char> name = stackalloc char[raw.Length];
        System.Text.Ascii.ToUtf16(raw, name, out var written);
        return IsSensitiveProperty(name[..written]);
    }

    /// <summary>Replaces every occurrence of <paramref name="secret"/> (UTF-8) with <see cref="Masked"/>.</summary>
    internal static byte[] ReplaceLiteral(byte[] data, string secret)
    {
        if (secret.Length < 8)
        {
            return data; // Too short to be a real credential; replacing would mangle ordinary text.
        }
        var maxBytes = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> needle = maxBytes <= 1024 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        needle = needle[..Encoding.UTF8.GetBytes(secret, needle)];
        var first = data.AsSpan().IndexOf(needle);
        if (first < 0)
        {
            return data;
        }
        return ReplaceFrom(data, needle, first);
    }

    private static byte[] ReplaceFrom(byte[] data, ReadOnlySpan<byte> needle, int first)
    {
        var output = new ArrayBufferWriter<byte>(data.Length);
        var rest = data.AsSpan();
        var index = first;
        while (index >= 0)
        {
            output.Write(rest[..index]);
            output.Write("***"u8);
            rest = rest[(index + needle.Length)..];
            index = rest.IndexOf(needle);
        }
        output.Write(rest);
        return output.WrittenSpan.ToArray();
    }
}
