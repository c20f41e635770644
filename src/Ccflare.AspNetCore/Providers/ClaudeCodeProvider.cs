using System.Globalization;
using System.Text.Json;
using Ccflare.OAuth;

namespace Ccflare.Providers;

/// <summary>
/// Claude subscriptions (Claude Code's sign-in): the Anthropic API reached with an OAuth access
/// token, which Anthropic accepts only with the OAuth beta flag.
/// </summary>
internal sealed class ClaudeCodeProvider(ProviderSettings settings) : AnthropicProvider(settings)
{
    public new const string BuiltInName = "claude-code";

    /// <summary>The beta flag Anthropic requires on requests authenticated with a subscription token.</summary>
    public const string OAuthBetaFlag = "oauth-2025-04-20";

    /// <summary>The endpoint Claude Code reads a subscription's usage windows from.</summary>
    public const string DefaultUsageUrl = "https://api.anthropic.com/api/oauth/usage";

    private const string ExtraUsageField = "extra_usage";

    private const string BetaHeader = "anthropic-beta";

    private static readonly IReadOnlyList<string> Methods = [AccountAuthMethods.OAuth];

    private static readonly OAuthClientSettings Defaults = new(
        BuiltInName,
        "https://claude.ai/oauth/authorize",
        "https://platform.claude.com/v1/oauth/token",
        "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        "https://platform.claude.com/oauth/code/callback",
        "org:create_api_key user:profile user:inference",
        JsonTokenRequests: true,
        [new("code", "true")]);

    public override string DisplayName => "Claude Code (Claude subscription)";

    public override IReadOnlyList<string> AuthMethods => Methods;

    public override OAuthClientSettings? OAuthDefaults => Defaults;

    public override int? FamilyPrefixRank => 0;

    protected override void OnCredentialApplied(HttpRequestMessage request, Account account)
    {
        if (account.AuthMethod != AccountAuthMethods.OAuth)
        {
            return;
        }
        if (!request.Headers.NonValidated.TryGetValues(BetaHeader, out var values))
        {
            request.Headers.TryAddWithoutValidation(BetaHeader, OAuthBetaFlag);
            return;
        }
        var merged = MergeFlags(values);
        if (merged is not null)
        {
            request.Headers.Remove(BetaHeader);
            request.Headers.TryAddWithoutValidation(BetaHeader, merged);
        }
    }

    /// <summary>
    /// Reads the OAuth usage endpoint's answer: one object per window, named as the headers' windows are
    /// (<c>five_hour</c>, <c>seven_day</c>, <c>seven_day_opus</c>, ...), each with <c>utilization</c> in
    /// percent and <c>resets_at</c> (ISO 8601 or null); windows the plan lacks are null. <c>extra_usage</c>
    /// becomes the overage pool. The answer names no overall status: a full window that counts for every
    /// model reports <c>rejected</c>, otherwise the status already known stays.
    /// </summary>
    public override AccountUsage? ReadUsageEndpoint(JsonElement answer, DateTimeOffset readAt)
    {
        if (answer.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var windows = new List<UsageWindow>(4);
        UsageOverage? overage = null;
        foreach (var property in answer.EnumerateObject())
        {
            if (property.NameEquals(ExtraUsageField))
            {
                overage = ReadExtraUsage(property.Value);
            }
            else if (ReadWindow(property.Name, property.Value) is { } window)
            {
                windows.Add(window);
            }
        }
        if (windows.Count == 0)
        {
            return null;
        }
        windows.Sort(static (a, b) => (a.WindowMinutes ?? int.MaxValue).CompareTo(b.WindowMinutes ?? int.MaxValue) is var byLength and not 0
            ? byLength
            : string.CompareOrdinal(a.Name, b.Name));
        UsageWindow? binding = null;
        foreach (var window in windows)
        {
            if (window.Status == UsageStatuses.Rejected && AccountUsage.WindowFamily(window.Name) is null && (binding is null || window.ResetsAt > binding.ResetsAt))
            {
                binding = window;
            }
        }
        return new AccountUsage
        {
            UpdatedAt = readAt,
            Status = binding?.Status,
            ResetsAt = binding?.ResetsAt,
            RepresentativeClaim = binding?.Name,
            Windows = windows,
            Overage = overage,
        };
    }

    private static UsageWindow? ReadWindow(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !IsWindowName(name)
            || !value.TryGetProperty("utilization", out var percent) || percent.ValueKind != JsonValueKind.Number
            || !percent.TryGetDouble(out var used) || !double.IsFinite(used) || used < 0)
        {
            return null;
        }
        DateTimeOffset? resetsAt = null;
        if (value.TryGetProperty("resets_at", out var reset) && reset.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(reset.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            resetsAt = parsed.ToUniversalTime();
        }
        var utilization = Math.Min(used / 100, 1);
        return new UsageWindow(name, WindowMinutes(name), utilization, resetsAt, utilization >= 1 ? UsageStatuses.Rejected : UsageStatuses.Allowed);
    }

    /// <summary>Extra usage that is off, or whose monthly limit is spent, cannot carry requests past the plan.</summary>
    private static UsageOverage? ReadExtraUsage(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("is_enabled", out var enabled) || enabled.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return null;
        }
        var spent = value.TryGetProperty("utilization", out var percent) && percent.ValueKind == JsonValueKind.Number && percent.TryGetDouble(out var used) && used >= 100;
        return new UsageOverage(enabled.GetBoolean() && !spent ? UsageStatuses.Allowed : UsageStatuses.Rejected, null);
    }

    private static bool IsWindowName(string name)
    {
        if (name.Length is 0 or > 64)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The client's flags, each once, with the OAuth flag added; null when they already are exactly that.</summary>
    internal static string? MergeFlags(System.Net.Http.Headers.HeaderStringValues values)
    {
        var flags = new List<string>(4);
        var changed = values.Count > 1;
        foreach (var value in values)
        {
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (flags.Contains(part, StringComparer.OrdinalIgnoreCase))
                {
                    changed = true;
                    continue;
                }
                flags.Add(part);
            }
        }
        if (!flags.Contains(OAuthBetaFlag, StringComparer.OrdinalIgnoreCase))
        {
            flags.Insert(0, OAuthBetaFlag);
            changed = true;
        }
        return changed ? string.Join(',', flags) : null;
    }
}
