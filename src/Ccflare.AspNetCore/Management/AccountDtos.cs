using System.Text.Json.Serialization;
using Ccflare.Hosting;
using Ccflare.Strategies;

namespace Ccflare.Management;

/// <summary>An account as <c>GET /api/accounts</c> shows it: ccflare's field names, never a secret.</summary>
internal sealed record AccountResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("auth_method")] string AuthMethod,
    [property: JsonPropertyName("base_url")] string? BaseUrl,
    [property: JsonPropertyName("requestCount")] long RequestCount,
    [property: JsonPropertyName("totalRequests")] long TotalRequests,
    [property: JsonPropertyName("lastUsed")] DateTimeOffset? LastUsed,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("weight")] int Weight,
    [property: JsonPropertyName("paused")] bool Paused,
    [property: JsonPropertyName("tokenStatus")] string TokenStatus,
    [property: JsonPropertyName("tokenStatusReason")] string? TokenStatusReason,
    [property: JsonPropertyName("tokenExpiresAt")] DateTimeOffset? TokenExpiresAt,
    [property: JsonPropertyName("rateLimitStatus")] RateLimitStatusResponse RateLimitStatus,
    [property: JsonPropertyName("rateLimitReset")] DateTimeOffset? RateLimitReset,
    [property: JsonPropertyName("rateLimitRemaining")] long? RateLimitRemaining,
    [property: JsonPropertyName("sessionInfo")] SessionInfoResponse SessionInfo,
    [property: JsonPropertyName("providerConfigured")] bool ProviderConfigured,
    [property: JsonPropertyName("priority")] int Priority,
    [property: JsonPropertyName("usage")] AccountUsage? Usage,
    [property: JsonPropertyName("nearLimit")] bool NearLimit,
    [property: JsonPropertyName("nearLimitWindow")] string? NearLimitWindow,
    [property: JsonPropertyName("headroom")] double? Headroom)
{
    /// <summary>
    /// The response for <paramref name="account"/>; <paramref name="providerConfigured"/> is false when its provider is no longer
    /// served (kept, shown, never selected). Near-limit is decided by the same policy the strategies use.
    /// </summary>
    public static AccountResponse From(Account account, DateTimeOffset now, TimeSpan sessionDuration, NearLimitPolicy nearLimit, bool providerConfigured = true)
    {
        var usage = account.Usage?.AsOf(now);
        var nearLimitWindow = nearLimit.NearLimitWindow(account.Usage, now);
        var limited = account.RateLimitedUntil is { } until && until > now;
        var sessionActive = account.SessionStart is { } start && now - start < sessionDuration;
        return new AccountResponse(
            account.Id,
            account.Name,
            account.Provider,
            account.AuthMethod,
            account.BaseUrl,
            account.RequestCount,
            account.TotalRequests,
            account.LastUsed,
            account.CreatedAt,
            account.Weight,
            account.Paused,
            TokenStatusOf(account, now),
            account.TokenStatusReason,
            account.ExpiresAt,
            new RateLimitStatusResponse(
                RateLimitCode(account, limited),
                limited,
                limited ? account.RateLimitedUntil : null),
            account.RateLimitReset,
            account.RateLimitRemaining,
            new SessionInfoResponse(sessionActive, account.SessionStart, account.SessionRequestCount),
            providerConfigured,
            account.Priority,
            usage,
            nearLimitWindow is not null,
            nearLimitWindow?.Name,
            usage?.Headroom());
    }

    /// <summary>ccflare's codes: <c>"paused"</c> for a paused account, the last upstream status otherwise, <c>"ok"</c> when none is known.</summary>
    private static string RateLimitCode(Account account, bool limited) =>
        account.Paused ? "paused" : account.RateLimitStatus ?? (limited ? "rate_limited" : "ok");

    private static string TokenStatusOf(Account account, DateTimeOffset now)
    {
        if (account.TokenStatus is { } explicitStatus)
        {
            return explicitStatus;
        }
        if (account.AuthMethod != AccountAuthMethods.OAuth)
        {
            return "valid";
        }
        return account.ExpiresAt is { } expires && expires <= now ? "expired" : "valid";
    }
}

internal sealed record RateLimitStatusResponse(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("isLimited")] bool IsLimited,
    [property: JsonPropertyName("until")] DateTimeOffset? Until);

internal sealed record SessionInfoResponse(
    [property: JsonPropertyName("active")] bool Active,
    [property: JsonPropertyName("startedAt")] DateTimeOffset? StartedAt,
    [property: JsonPropertyName("requestCount")] long RequestCount);

/// <summary>Body of <c>POST /api/accounts</c>.</summary>
internal sealed record CreateAccountRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("provider")] public string? Provider { get; init; }
    [JsonPropertyName("auth_method")] public string? AuthMethod { get; init; }
    [JsonPropertyName("api_key")] public string? ApiKey { get; init; }
    [JsonPropertyName("base_url")] public string? BaseUrl { get; init; }
    [JsonPropertyName("weight")] public int? Weight { get; init; }
    [JsonPropertyName("priority")] public int? Priority { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }
    [JsonPropertyName("expires_at")] public long? ExpiresAt { get; init; }
}

/// <summary>Body of <c>PATCH /api/accounts/{id}</c>; absent fields stay unchanged.</summary>
internal sealed record UpdateAccountRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("base_url")] public System.Text.Json.JsonElement BaseUrl { get; init; }
    [JsonPropertyName("weight")] public int? Weight { get; init; }
    [JsonPropertyName("priority")] public int? Priority { get; init; }
}

internal sealed record RenameAccountRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
}

internal static class AccountRules
{
    public const int MaxNameLength = 100;
    public const int MaxWeight = 1000;
    public const int MaxPriority = 1000;

    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "name is required.";
        }
        if (name.Length > MaxNameLength)
        {
            return $"name must be at most {MaxNameLength} characters.";
        }
        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return "name must not contain control characters.";
            }
        }
        return name.Trim() != name ? "name must not start or end with whitespace." : null;
    }

    public static string? ValidateWeight(int? weight) =>
        weight is < 1 or > MaxWeight ? $"weight must be between 1 and {MaxWeight}." : null;

    public static string? ValidatePriority(int? priority) =>
        priority is < 0 or > MaxPriority ? $"priority must be between 0 (most preferred) and {MaxPriority}." : null;

    public static string? ValidateBaseUrl(string? baseUrl) =>
        baseUrl is not null && !UrlRules.IsHttpUrl(baseUrl) ? "base_url must be an absolute http or https URL without query or credentials." : null;
}
