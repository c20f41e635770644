namespace Ccflare;

/// <summary>
/// A provider account as stored: credentials, counters, session and rate-limit state.
/// Field names mirror ccflare's <c>accounts</c> table.
/// </summary>
public sealed record Account
{
    /// <summary>Unique id (a UUID string).</summary>
    public required string Id { get; init; }

    /// <summary>Unique, human-readable name.</summary>
    public required string Name { get; init; }

    /// <summary>Provider name: <c>anthropic</c>, <c>claude-code</c>, <c>openai</c>, <c>codex</c> or a provider defined by configuration.</summary>
    public required string Provider { get; init; }

    /// <summary><c>api_key</c> or <c>oauth</c>.</summary>
    public string AuthMethod { get; init; } = AccountAuthMethods.ApiKey;

    /// <summary>Overrides the provider's default upstream base URL when set.</summary>
    public string? BaseUrl { get; init; }

    /// <summary>API key for <c>api_key</c> accounts.</summary>
    public string? ApiKey { get; init; }

    /// <summary>OAuth refresh token.</summary>
    public string? RefreshToken { get; init; }

    /// <summary>OAuth access token.</summary>
    public string? AccessToken { get; init; }

    /// <summary>When the access token expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the account was added.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the account last served a request.</summary>
    public DateTimeOffset? LastUsed { get; init; }

    /// <summary>Requests since the last statistics reset.</summary>
    public long RequestCount { get; init; }

    /// <summary>Requests over the account's lifetime.</summary>
    public long TotalRequests { get; init; }

    /// <summary>Relative weight for the <c>weighted</c> strategy (1 by default).</summary>
    public int Weight { get; init; } = 1;

    /// <summary>Priority level: strategies prefer the lowest level that has a usable account (0 by default).</summary>
    public int Priority { get; init; }

    /// <summary>The account is skipped until this instant.</summary>
    public DateTimeOffset? RateLimitedUntil { get; init; }

    /// <summary>Start of the current sticky session.</summary>
    public DateTimeOffset? SessionStart { get; init; }

    /// <summary>Requests served in the current session.</summary>
    public long SessionRequestCount { get; init; }

    /// <summary>Paused accounts are never selected.</summary>
    public bool Paused { get; init; }

    /// <summary>Reset instant of the provider's rate-limit window, as last reported.</summary>
    public DateTimeOffset? RateLimitReset { get; init; }

    /// <summary>Rate-limit status as last reported (for example <c>allowed</c>, <c>rate_limited</c>).</summary>
    public string? RateLimitStatus { get; init; }

    /// <summary>Remaining requests in the window, as last reported.</summary>
    public long? RateLimitRemaining { get; init; }

    /// <summary>The usage windows as last reported by the provider, or null until one was read.</summary>
    public AccountUsage? Usage { get; init; }

    /// <summary>OAuth token status when it is not derived from <see cref="ExpiresAt"/>, for example <c>refresh_failed</c>.</summary>
    public string? TokenStatus { get; init; }

    /// <summary>Why <see cref="TokenStatus"/> was set.</summary>
    public string? TokenStatusReason { get; init; }
}

/// <summary>Values of <see cref="Account.AuthMethod"/>.</summary>
public static class AccountAuthMethods
{
    /// <summary>Static API key.</summary>
    public const string ApiKey = "api_key";

    /// <summary>OAuth subscription account.</summary>
    public const string OAuth = "oauth";
}
