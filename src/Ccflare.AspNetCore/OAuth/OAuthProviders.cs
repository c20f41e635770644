using System.Security.Cryptography;
using System.Text;
using Ccflare.Providers;
using Microsoft.Extensions.Options;

namespace Ccflare.OAuth;

/// <summary>How one provider's OAuth endpoints are called (defaults from ccflare, overridable per provider).</summary>
internal sealed record OAuthClientSettings(
    string Provider,
    string AuthorizeUrl,
    string TokenUrl,
    string ClientId,
    string RedirectUri,
    string Scopes,
    bool JsonTokenRequests,
    IReadOnlyList<KeyValuePair<string, string>> ExtraAuthorizeParameters);

/// <summary>The OAuth providers Ccflare can sign in to (their providers' defaults, with configuration overrides applied).</summary>
internal sealed class OAuthProviders(ProviderRegistry providers, IOptionsMonitor<CcflareOptions> options)
{
    /// <summary>Settings for <paramref name="provider"/>, or null when it does not sign in with OAuth.</summary>
    public OAuthClientSettings? Find(string provider)
    {
        var defaults = providers.Find(provider)?.OAuthDefaults;
        if (defaults is null)
        {
            return null;
        }
        if (!options.CurrentValue.Providers.TryGetValue(provider, out var o))
        {
            return defaults;
        }
        return defaults with
        {
            AuthorizeUrl = NonEmpty(o.AuthorizeUrl) ?? defaults.AuthorizeUrl,
            TokenUrl = NonEmpty(o.TokenUrl) ?? defaults.TokenUrl,
            ClientId = NonEmpty(o.ClientId) ?? defaults.ClientId,
            RedirectUri = NonEmpty(o.RedirectUri) ?? defaults.RedirectUri,
            Scopes = NonEmpty(o.Scopes) ?? defaults.Scopes,
        };
    }

    /// <summary>The names of the providers that sign in with OAuth.</summary>
    public IEnumerable<string> Names => providers.All.Where(p => p.OAuthDefaults is not null).Select(p => p.Name);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

/// <summary>PKCE (RFC 7636, S256) and random values for sign-in.</summary>
internal static class Pkce
{
    /// <summary>A random base64url string from <paramref name="bytes"/> random bytes (32 bytes: 43 characters).</summary>
    public static string RandomToken(int bytes = 32) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>A code verifier: 64 random bytes, 86 base64url characters (within 43..128).</summary>
    public static string CreateVerifier() => RandomToken(64);

    public static string Challenge(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string BuildAuthorizeUrl(OAuthClientSettings settings, string challenge, string state)
    {
        var query = new StringBuilder();
        foreach (var (key, value) in settings.ExtraAuthorizeParameters)
        {
            Append(query, key, value);
        }
        Append(query, "response_type", "code");
        Append(query, "client_id", settings.ClientId);
        Append(query, "redirect_uri", settings.RedirectUri);
        Append(query, "scope", settings.Scopes);
        Append(query, "code_challenge", challenge);
        Append(query, "code_challenge_method", "S256");
        Append(query, "state", state);
        var separator = settings.AuthorizeUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return settings.AuthorizeUrl + separator + query;
    }

    private static void Append(StringBuilder query, string key, string value)
    {
        if (query.Length > 0)
        {
            query.Append('&');
        }
        query.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
    }
}
