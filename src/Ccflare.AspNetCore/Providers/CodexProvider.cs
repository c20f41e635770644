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

    /// <summary>
    /// Reads the <c>x-codex-*</c> usage windows and the OpenAI rate-limit headers in one pass. A spent
    /// window (used 100 %) limits the account until that window resets; a 429 while both windows have
    /// room cools it down from the OpenAI headers (or briefly), never until a window reset.
    /// </summary>
    public override AccountFeedback ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var limits = new RateLimitHeaders();
        var primary = new WindowHeaders();
        var secondary = new WindowHeaders();
        foreach (var header in headers.NonValidated)
        {
            if (limits.Add(header.Key, header.Value) || !header.Key.StartsWith(CodexPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var field = header.Key.AsSpan(CodexPrefix.Length);
            if (field.StartsWith(Primary, StringComparison.OrdinalIgnoreCase))
            {
                primary.Add(field[Primary.Length..], header.Value);
            }
            else if (field.StartsWith(Secondary, StringComparison.OrdinalIgnoreCase))
            {
                secondary.Add(field[Secondary.Length..], header.Value);
            }
            else if (field.Equals("5h-reset-at", StringComparison.OrdinalIgnoreCase))
            {
                primary.FallbackResetAt = ResponseHeaderValues.ParseEpochSeconds(header.Value.ToString());
            }
            else if (field.Equals("7d-reset-at", StringComparison.OrdinalIgnoreCase))
            {
                secondary.FallbackResetAt = ResponseHeaderValues.ParseEpochSeconds(header.Value.ToString());
            }
        }

        var openAi = limits.ToRateLimit(statusCode, now);
        var primaryWindow = primary.ToWindow("primary", now);
        var secondaryWindow = secondary.ToWindow("secondary", now);
        if (primaryWindow is null && secondaryWindow is null)
        {
            return new AccountFeedback(openAi, null);
        }
        UsageWindow[] windows = primaryWindow is null ? [secondaryWindow!] : secondaryWindow is null ? [primaryWindow] : [primaryWindow, secondaryWindow];
        var primarySpent = primaryWindow?.Status == UsageStatuses.Rejected;
        var secondarySpent = secondaryWindow?.Status == UsageStatuses.Rejected;
        // The account is refused until every spent window has reset.
        var spentUntil = primarySpent && secondarySpent ? Later(primaryWindow!.ResetsAt, secondaryWindow!.ResetsAt)
            : secondarySpent ? secondaryWindow!.ResetsAt
            : primarySpent ? primaryWindow!.ResetsAt
            : null;
        var usage = new AccountUsage
        {
            UpdatedAt = now,
            Status = primarySpent || secondarySpent ? UsageStatuses.Rejected : UsageStatuses.Allowed,
            ResetsAt = spentUntil,
            Windows = windows,
        };
        if (primaryWindow?.Utilization is null && secondaryWindow?.Utilization is null)
        {
            return new AccountFeedback(openAi, usage);
        }

        var hard = openAi.IsHardLimited || primarySpent || secondarySpent;
        var reset = primarySpent || secondarySpent ? spentUntil
            : hard ? openAi.Reset
            : primaryWindow?.ResetsAt ?? secondaryWindow?.ResetsAt ?? openAi.Reset;
        var used = Math.Max(primaryWindow?.Utilization ?? 0, secondaryWindow?.Utilization ?? 0) * 100;
        long? remaining = (long)Math.Max(0, Math.Round(100 - used));
        return new AccountFeedback(new RateLimitInfo(hard ? "rate_limited" : "allowed", reset, remaining, hard), usage);
    }

    private const string CodexPrefix = "x-codex-";
    private const string Primary = "primary-";
    private const string Secondary = "secondary-";

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is { } x && b is { } y ? (x > y ? x : y) : a ?? b;

    /// <summary>One window's <c>-used-percent</c> (0..100), <c>-window-minutes</c> and <c>-reset-at</c> or <c>-reset-after-seconds</c>.</summary>
    private struct WindowHeaders
    {
        private double? _usedPercent;
        private long? _minutes;
        private DateTimeOffset? _resetAt;
        private double? _resetAfterSeconds;

        /// <summary>The reset from the older <c>x-codex-5h-reset-at</c> / <c>x-codex-7d-reset-at</c> headers.</summary>
        public DateTimeOffset? FallbackResetAt;

        public void Add(ReadOnlySpan<char> field, HeaderStringValues values)
        {
            if (field.Equals("used-percent", StringComparison.OrdinalIgnoreCase))
            {
                _usedPercent = ResponseHeaderValues.ParseDouble(values.ToString());
            }
            else if (field.Equals("window-minutes", StringComparison.OrdinalIgnoreCase))
            {
                _minutes = ResponseHeaderValues.ParseLong(values.ToString());
            }
            else if (field.Equals("reset-at", StringComparison.OrdinalIgnoreCase))
            {
                _resetAt = ResponseHeaderValues.ParseEpochSeconds(values.ToString());
            }
            else if (field.Equals("reset-after-seconds", StringComparison.OrdinalIgnoreCase))
            {
                _resetAfterSeconds = ResponseHeaderValues.ParseDouble(values.ToString());
            }
        }

        public readonly UsageWindow? ToWindow(string name, DateTimeOffset now)
        {
            double? utilization = _usedPercent is { } p && double.IsFinite(p) && p >= 0 ? Math.Min(p / 100, 1) : null;
            int? minutes = _minutes is { } m && m is > 0 and <= int.MaxValue ? (int)m : null;
            var reset = _resetAt;
            if (reset is null && _resetAfterSeconds is { } after && double.IsFinite(after) && after is >= 0 and < 366 * 86400)
            {
                reset = now.AddSeconds(after);
            }
            reset ??= FallbackResetAt;
            if (utilization is null && minutes is null && reset is null)
            {
                return null;
            }
            string? status = utilization is null ? null : utilization >= 1 ? UsageStatuses.Rejected : UsageStatuses.Allowed;
            return new UsageWindow(name, minutes, utilization, reset, status);
        }
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
