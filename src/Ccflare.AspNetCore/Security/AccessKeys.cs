using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Ccflare.Security;

/// <summary>
/// The access-key format (<c>ccfk_</c> + 64 lower-case hex characters from a cryptographic RNG)
/// and its at-rest form (lower-case hex SHA-256).
/// </summary>
internal static class AccessKeys
{
    public const string Prefix = "ccfk_";
    public const int HexLength = 64;
    public const int KeyLength = 5 + HexLength;

    /// <summary>A new key: 32 random bytes, hex encoded.</summary>
    public static string Generate() => Prefix + RandomNumberGenerator.GetHexString(HexLength, lowercase: true);

    /// <summary>True when <paramref name="key"/> has the <c>ccfk_</c> + 64 lower-case hex shape.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> key)
    {
        if (key.Length != KeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in key[Prefix.Length..])
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes: what the store keeps.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(HashBytes(key));

    public static byte[] HashBytes(ReadOnlySpan<char> key)
    {
        var hash = new byte[SHA256.HashSizeInBytes];
        HashInto(key, hash);
        return hash;
    }

    public static void HashInto(ReadOnlySpan<char> value, Span<byte> destination)
    {
        Span<byte> utf8 = stackalloc byte[256];
        var count = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        if (count > utf8.Length)
        {
            rented = new byte[count];
            utf8 = rented;
        }
        var written = Encoding.UTF8.GetBytes(value, utf8);
        SHA256.HashData(utf8[..written], destination);
    }

    /// <summary>
    /// The key a client presented: <c>x-api-key</c> (Anthropic SDKs) or <c>Authorization: Bearer</c>
    /// (OpenAI SDKs). When both are sent, a <c>ccfk_</c>-shaped value wins.
    /// </summary>
    public static string? ReadPresented(IHeaderDictionary headers)
    {
        string? apiKey = null;
        if (headers.TryGetValue("x-api-key", out var apiKeyValues) && apiKeyValues.Count == 1)
        {
            apiKey = apiKeyValues[0]?.Trim();
        }
        string? bearer = null;
        if (headers.TryGetValue(HeaderNames.Authorization, out var authValues) && authValues.Count == 1
            && authValues[0] is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            bearer = auth[7..].Trim();
        }
        if (apiKey is not null && apiKey.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return apiKey;
        }
        if (bearer is not null && bearer.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return bearer;
        }
        return apiKey ?? bearer;
    }
}
