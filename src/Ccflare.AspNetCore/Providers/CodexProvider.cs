using System.Net.Http.Headers;
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
}
