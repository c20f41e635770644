using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text.Json;
using Ccflare.Compat;
using Ccflare.OAuth;
using Ccflare.Proxy;

namespace Ccflare.Providers;

/// <summary>
/// ChatGPT sign-in (Codex): the ChatGPT Codex backend, which serves only the Responses API, only
/// streaming and only unstored, and reports its usage windows in <c>x-codex-*</c> headers.
/// </summary>
internal sealed class CodexProvider(ProviderSettings settings) : OpenAIProvider(settings)
{
    public new const string BuiltInName = "codex";
    public new const string DefaultBaseUrl = "https://chatgpt.com/backend-api/codex";

    /// <summary>The endpoint the Codex CLI reads a ChatGPT plan's usage windows from.</summary>
    public const string DefaultUsageUrl = "https://chatgpt.com/backend-api/wham/usage";

    /// <summary>The claim of a ChatGPT access token that carries the workspace's account id.</summary>
    private const string AuthClaim = "https://api.openai.com/auth";

    private static readonly IReadOnlyList<string> Methods = [AccountAuthMethods.OAuth];

    private static readonly OAuthClientSettings Defaults = new(
        BuiltInName,
        "https://auth.openai.com/oauth/authorize",
        "https://auth.openai.com/oauth/token",
        "app_EMoamEEZ73f0CkXaXp7hrann",
        "http://localhost:1455/auth/callback",
        "openid profile email offline_access",
        JsonTokenRequests: false,
        [new("id_token_add_organizations", "true"), new("codex_cli_simplified_flow", "true"), new("originator", "codex_cli_rs")]);

    public override string DisplayName => "Codex (ChatGPT sign-in)";

    public override IReadOnlyList<string> AuthMethods => Methods;

    public override OAuthClientSettings? OAuthDefaults => Defaults;

    public override int? FamilyPrefixRank => 0;

    public override bool RequiresStreamingUnstored => true;

    public override WireSchema UpstreamSchema(WireSchema client) => WireSchema.Responses;

    public override IForwardAdapter? CreateNativeAdapter(string upstreamPath, ReadOnlyMemory<byte> body) =>
        upstreamPath.EndsWith("/responses", StringComparison.Ordinal) ? StreamingResponsesAdapter.CreateIfNeeded(upstreamPath, body) : null;

    public override RateLimitInfo ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var openAi = base.ReadAccountFeedback(statusCode, headers, now);
        var primary = ResponseHeaderValues.ParseDouble(ResponseHeaderValues.Get(headers, "x-codex-primary-used-percent"));
        var secondary = ResponseHeaderValues.ParseDouble(ResponseHeaderValues.Get(headers, "x-codex-secondary-used-percent"));
        if (primary is null && secondary is null)
        {
            return openAi;
        }

        var primaryReset = ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-codex-primary-reset-at"))
            ?? ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-codex-5h-reset-at"));
        var secondaryReset = ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-codex-secondary-reset-at"))
            ?? ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-codex-7d-reset-at"));
        var primaryLimited = primary >= 100;
        var secondaryLimited = secondary >= 100;
        var hard = openAi.IsHardLimited || primaryLimited || secondaryLimited;

        DateTimeOffset? reset;
        if (secondaryLimited)
        {
            reset = secondaryReset ?? primaryReset;
        }
        else if (primaryLimited)
        {
            reset = primaryReset ?? secondaryReset;
        }
        else
        {
            reset = primaryReset ?? secondaryReset ?? openAi.Reset;
        }

        var used = Math.Max(primary ?? 0, secondary ?? 0);
        long? remaining = (long)Math.Max(0, Math.Round(100 - used));
        return new RateLimitInfo(hard ? "rate_limited" : "allowed", reset, remaining, hard);
    }

    public override AccountUsage? ReadUsage(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var primary = ReadWindow(headers, "primary", now);
        var secondary = ReadWindow(headers, "secondary", now);
        if (primary is null && secondary is null)
        {
            return null;
        }
        UsageWindow[] windows = primary is null ? [secondary!] : secondary is null ? [primary] : [primary, secondary];
        var rejected = primary?.Status == UsageStatuses.Rejected || secondary?.Status == UsageStatuses.Rejected;
        return new AccountUsage
        {
            UpdatedAt = now,
            Status = rejected ? UsageStatuses.Rejected : UsageStatuses.Allowed,
            Windows = windows,
        };
    }

    /// <summary>Reads <c>x-codex-&lt;window&gt;-used-percent</c> (0..100), <c>-window-minutes</c> and <c>-reset-at</c> or <c>-reset-after-seconds</c>.</summary>
    private static UsageWindow? ReadWindow(HttpResponseHeaders headers, string window, DateTimeOffset now)
    {
        var prefix = "x-codex-" + window;
        var percent = ResponseHeaderValues.ParseDouble(ResponseHeaderValues.Get(headers, prefix + "-used-percent"));
        double? utilization = percent is { } p && double.IsFinite(p) && p >= 0 ? Math.Min(p / 100, 1) : null;
        int? minutes = ResponseHeaderValues.ParseLong(ResponseHeaderValues.Get(headers, prefix + "-window-minutes")) is { } m && m is > 0 and <= int.MaxValue ? (int)m : null;
        var reset = ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, prefix + "-reset-at"));
        if (reset is null && ResponseHeaderValues.ParseDouble(ResponseHeaderValues.Get(headers, prefix + "-reset-after-seconds")) is { } after && double.IsFinite(after) && after is >= 0 and < 366 * 86400)
        {
            reset = now.AddSeconds(after);
        }
        if (utilization is null && minutes is null && reset is null)
        {
            return null;
        }
        string? status = utilization is null ? null : utilization >= 1 ? UsageStatuses.Rejected : UsageStatuses.Allowed;
        return new UsageWindow(window, minutes, utilization, reset, status);
    }

    /// <summary>Adds <c>chatgpt-account-id</c> (the workspace the token signs in to) when the access token names one, as the Codex CLI does.</summary>
    public override HttpRequestMessage CreateUsageRequest(Account account, string accessToken)
    {
        var request = base.CreateUsageRequest(account, accessToken);
        if (ChatGptAccountId(accessToken) is { } accountId)
        {
            request.Headers.TryAddWithoutValidation("chatgpt-account-id", accountId);
        }
        return request;
    }

    /// <summary>
    /// Reads the usage endpoint's answer: <c>rate_limit.primary_window</c> and <c>secondary_window</c>, each with
    /// <c>used_percent</c> (0..100), <c>limit_window_seconds</c> and <c>reset_at</c> (epoch s) or
    /// <c>reset_after_seconds</c>; <c>limit_reached</c> (or <c>allowed: false</c>) makes the status <c>rejected</c>.
    /// </summary>
    public override AccountUsage? ReadUsageEndpoint(JsonElement answer, DateTimeOffset readAt)
    {
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("rate_limit", out var limits) || limits.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var primary = ReadEndpointWindow(limits, "primary", readAt);
        var secondary = ReadEndpointWindow(limits, "secondary", readAt);
        if (primary is null && secondary is null)
        {
            return null;
        }
        UsageWindow[] windows = primary is null ? [secondary!] : secondary is null ? [primary] : [primary, secondary];
        var rejected = (limits.TryGetProperty("limit_reached", out var reached) && reached.ValueKind == JsonValueKind.True)
            || (limits.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.False)
            || primary?.Status == UsageStatuses.Rejected || secondary?.Status == UsageStatuses.Rejected;
        UsageWindow? binding = null;
        if (rejected)
        {
            // The full window that resets last is the one that keeps the account refused.
            foreach (var window in windows)
            {
                if (window.Status == UsageStatuses.Rejected && (binding is null || window.ResetsAt > binding.ResetsAt))
                {
                    binding = window;
                }
            }
        }
        return new AccountUsage
        {
            UpdatedAt = readAt,
            Status = rejected ? UsageStatuses.Rejected : UsageStatuses.Allowed,
            ResetsAt = binding?.ResetsAt,
            RepresentativeClaim = binding?.Name,
            Windows = windows,
        };
    }

    private static UsageWindow? ReadEndpointWindow(JsonElement limits, string window, DateTimeOffset readAt)
    {
        if (!limits.TryGetProperty(window + "_window", out var value) || value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("used_percent", out var percent) || percent.ValueKind != JsonValueKind.Number
            || !percent.TryGetDouble(out var used) || !double.IsFinite(used) || used < 0)
        {
            return null;
        }
        var utilization = Math.Min(used / 100, 1);
        int? minutes = Number(value, "limit_window_seconds") is { } seconds && seconds is >= 60 and <= 366.0 * 86400 ? (int)(seconds / 60) : null;
        DateTimeOffset? resetsAt = Number(value, "reset_at") is { } epoch && epoch is > 0 and < 253_402_300_800
            ? DateTimeOffset.FromUnixTimeSeconds((long)epoch)
            : Number(value, "reset_after_seconds") is { } after && after is >= 0 and < 366.0 * 86400 ? readAt.AddSeconds(after) : null;
        return new UsageWindow(window, minutes, utilization, resetsAt, utilization >= 1 ? UsageStatuses.Rejected : UsageStatuses.Allowed);
    }

    private static double? Number(JsonElement value, string name) =>
        value.TryGetProperty(name, out var number) && number.ValueKind == JsonValueKind.Number && number.TryGetDouble(out var result) && double.IsFinite(result) ? result : null;

    /// <summary>The <c>chatgpt_account_id</c> a ChatGPT access token (a JWT) carries, or null for any other token.</summary>
    internal static string? ChatGptAccountId(string accessToken)
    {
        var parts = accessToken.Split('.');
        if (parts.Length != 3 || parts[1].Length is 0 or > 16_384)
        {
            return null;
        }
        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var claims = JsonDocument.Parse(payload);
            return claims.RootElement.ValueKind == JsonValueKind.Object
                && claims.RootElement.TryGetProperty(AuthClaim, out var auth) && auth.ValueKind == JsonValueKind.Object
                && auth.TryGetProperty("chatgpt_account_id", out var id) && id.ValueKind == JsonValueKind.String
                && id.GetString() is { Length: > 0 and <= 128 } value && !value.AsSpan().ContainsAny('\r', '\n')
                ? value
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }
}
