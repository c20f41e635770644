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
}
