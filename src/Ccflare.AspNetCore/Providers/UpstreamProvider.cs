using System.Net.Http.Headers;
using Ccflare.Compat;
using Ccflare.OAuth;
using Ccflare.Proxy;

namespace Ccflare.Providers;

/// <summary>How one provider is set up: built-in defaults with configuration applied, or a provider defined by configuration.</summary>
internal sealed record ProviderSettings(
    string Name,
    string BaseUrl,
    ApiKeyStyle KeyStyle,
    IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders,
    bool IsBuiltIn);

/// <summary>
/// Everything that differs between upstreams lives in a subclass of this type: the base URL,
/// how an account's credential is sent, which client headers stay behind, the wire schema it is
/// spoken to in, its OAuth settings and how its responses' headers are read into account state.
/// The proxy, the compatibility routes and the management API only ever ask a provider.
/// </summary>
internal abstract class UpstreamProvider(ProviderSettings settings)
{
    protected static readonly IReadOnlyList<string> ApiKeyOnly = [AccountAuthMethods.ApiKey];

    public string Name => settings.Name;

    /// <summary>Upstream base URL used by accounts that set none.</summary>
    public string BaseUrl => settings.BaseUrl;

    /// <summary>True for the four providers Ccflare ships; false for providers defined by configuration.</summary>
    public bool IsBuiltIn => settings.IsBuiltIn;

    public abstract ProviderFamily Family { get; }

    /// <summary>A label for people (dashboard, terminal UI).</summary>
    public virtual string DisplayName => Name;

    /// <summary>How new accounts sign in, preferred first (dashboard and terminal UI offer these).</summary>
    public virtual IReadOnlyList<string> AuthMethods => ApiKeyOnly;

    /// <summary>Default OAuth endpoints and client, or null when the provider does not sign in with OAuth.</summary>
    public virtual OAuthClientSettings? OAuthDefaults => null;

    /// <summary>
    /// Position among the providers that answer the family's own compat model prefix
    /// (<c>anthropic/…</c>, <c>openai/…</c>), or null when the provider is reached only by its name.
    /// </summary>
    public virtual int? FamilyPrefixRank => null;

    /// <summary>The Responses requests this upstream takes must stream and must not be stored.</summary>
    public virtual bool RequiresStreamingUnstored => false;

    /// <summary>Whether an account may be created with <paramref name="authMethod"/>.</summary>
    public bool Accepts(string authMethod) =>
        // Built-in providers keep accepting both (an OAuth token pasted in, or an API key for Claude Code).
        IsBuiltIn ? authMethod is AccountAuthMethods.ApiKey or AccountAuthMethods.OAuth : AuthMethods.Contains(authMethod);

    /// <summary>The schema this provider is spoken to in, for a client speaking <paramref name="client"/>.</summary>
    public abstract WireSchema UpstreamSchema(WireSchema client);

    /// <summary>Whether a client header (already past the common rules) is forwarded to this provider.</summary>
    public abstract bool ForwardsClientHeader(string name);

    /// <summary>Adds headers a client of the other family could not know about (compatibility routes).</summary>
    public virtual void AddCompatHeaders(HttpRequestMessage request)
    {
    }

    /// <summary>
    /// Rewrites a native-route request this upstream would refuse as sent, or null to forward it
    /// untouched (the common case, which costs nothing).
    /// </summary>
    public virtual IForwardAdapter? CreateNativeAdapter(string upstreamPath, ReadOnlyMemory<byte> body) => null;

    /// <summary>Adds the account's credential (and the provider's fixed headers) to an upstream request.</summary>
    public void ApplyCredential(HttpRequestMessage request, Account account, string secret)
    {
        if (account.AuthMethod == AccountAuthMethods.ApiKey && settings.KeyStyle == ApiKeyStyle.XApiKey)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", secret);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + secret);
        }
        OnCredentialApplied(request, account);
        var extra = settings.ExtraHeaders;
        for (var i = 0; i < extra.Count; i++)
        {
            request.Headers.Remove(extra[i].Key);
            request.Headers.TryAddWithoutValidation(extra[i].Key, extra[i].Value);
        }
    }

    /// <summary>Headers that go with the credential, such as the beta flags an OAuth token needs.</summary>
    protected virtual void OnCredentialApplied(HttpRequestMessage request, Account account)
    {
    }

    /// <summary>
    /// Reads what a response says about the account: its rate limit (cool-down) and the usage windows
    /// it reports, in one pass over the headers. Called for every upstream response of an account of
    /// this provider (streaming included: headers come first), before the failover decision. Missing
    /// or malformed values are left out, never thrown.
    /// </summary>
    public abstract AccountFeedback ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now);
}
