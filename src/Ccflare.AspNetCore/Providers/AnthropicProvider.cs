using System.Globalization;
using System.Net.Http.Headers;
using Ccflare.Compat;

namespace Ccflare.Providers;

/// <summary>
/// The Anthropic family: Messages API, <c>x-api-key</c> by default, <c>anthropic-ratelimit-unified-*</c>
/// headers. The built-in <c>anthropic</c> provider and every provider configured with
/// <c>Family = anthropic</c> (an Anthropic-compatible endpoint) are instances of it.
/// </summary>
internal class AnthropicProvider(ProviderSettings settings) : UpstreamProvider(settings)
{
    public const string BuiltInName = "anthropic";
    public const string DefaultBaseUrl = "https://api.anthropic.com";

    private const string UnifiedPrefix = "anthropic-ratelimit-unified-";

    private static readonly string[] NumberWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

    private static readonly string[] HardStatuses = ["rejected", "rate_limited", "blocked", "queueing_hard", "payment_required"];

    public override ProviderFamily Family => ProviderFamily.Anthropic;

    public override string DisplayName => IsBuiltIn && Name == BuiltInName ? "Anthropic (API key)" : Name;

    public override int? FamilyPrefixRank => IsBuiltIn && Name == BuiltInName ? 1 : null;

    public override WireSchema UpstreamSchema(WireSchema client) => WireSchema.Messages;

    public override bool ForwardsClientHeader(string name) => !name.StartsWith("openai-", StringComparison.OrdinalIgnoreCase);

    public override void AddCompatHeaders(HttpRequestMessage request)
    {
        if (!request.Headers.Contains("anthropic-version"))
        {
            // OpenAI clients do not send it; Anthropic requires it.
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        }
    }

    public override RateLimitInfo ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var status = ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-status");
        var reset = ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-reset"));
        var remaining = ResponseHeaderValues.ParseLong(ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-remaining"));
        var hard = status is not null && Array.IndexOf(HardStatuses, status) >= 0;

        if (statusCode == 429)
        {
            return ReadRateLimited(status, remaining, headers, now);
        }
        return new RateLimitInfo(status, reset, remaining, hard);
    }

    /// <summary>
    /// A 429 cools the account down until the most specific reset it carries: the rejected window's, then
    /// <c>retry-after</c>, then <c>x-ratelimit-reset</c>, then the unified reset when the unified status is
    /// rejected. Without any, the reset stays unknown and the cool-down is short. A 429 whose only rejected
    /// window is scoped to a model family, or that only reports the overage pool spent while the plan's
    /// windows have room, does not park the account: its usage routes that family elsewhere.
    /// </summary>
    private RateLimitInfo ReadRateLimited(string? status, long? remaining, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var usage = ReadUsage(headers, now);
        UsageWindow? rejected = null;
        var onlyFamilyRejected = false;
        foreach (var window in usage?.Windows ?? [])
        {
            if (window.Status == UsageStatuses.Rejected)
            {
                var family = AccountUsage.WindowFamily(window.Name) is not null;
                onlyFamilyRejected = (rejected is null || onlyFamilyRejected) && family;
                if (rejected is null || (!family && AccountUsage.WindowFamily(rejected.Name) is not null))
                {
                    rejected = window;
                }
            }
        }
        var claimIsFamily = usage?.RepresentativeClaim is { } claim && AccountUsage.WindowFamily(claim) is not null;
        var familyOnly = rejected is not null
            ? onlyFamilyRejected && (status != UsageStatuses.Rejected || claimIsFamily)
            : status == UsageStatuses.Rejected && claimIsFamily;
        if (familyOnly)
        {
            return new RateLimitInfo(status, rejected?.ResetsAt ?? usage?.ResetsAt, remaining, IsHardLimited: false);
        }
        var planHasRoom = status is UsageStatuses.Allowed or UsageStatuses.AllowedWarning && rejected is null;
        if (planHasRoom && (usage?.Overage?.Status == UsageStatuses.Rejected || ResponseHeaderValues.Get(headers, UnifiedPrefix + "overage-disabled-reason") is not null))
        {
            return new RateLimitInfo(status, null, remaining, IsHardLimited: true);
        }
        var reset = rejected?.ResetsAt
            ?? ResponseHeaderValues.RetryAfter(headers, now)
            ?? ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-ratelimit-reset"))
            ?? (status == UsageStatuses.Rejected ? ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, UnifiedPrefix + "reset")) : null);
        return new RateLimitInfo(status is null || planHasRoom ? "rate_limited" : status, reset, remaining, IsHardLimited: true);
    }

    public override AccountUsage? ReadUsage(HttpResponseHeaders headers, DateTimeOffset now)
    {
        string? status = null, claim = null, overageStatus = null;
        DateTimeOffset? reset = null, overageReset = null;
        double? fallback = null;
        Dictionary<string, UsageWindow>? windows = null;
        foreach (var header in headers.NonValidated)
        {
            if (!header.Key.StartsWith(UnifiedPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var field = header.Key[UnifiedPrefix.Length..].ToLowerInvariant();
            var value = header.Value.ToString().Trim();
            switch (field)
            {
                case "status":
                    status = StatusValue(value);
                    break;
                case "reset":
                    reset = ResponseHeaderValues.ParseEpochSeconds(value);
                    break;
                case "representative-claim":
                    claim = StatusValue(value);
                    break;
                case "overage-status":
                    overageStatus = StatusValue(value);
                    break;
                case "overage-reset":
                    overageReset = ResponseHeaderValues.ParseEpochSeconds(value);
                    break;
                case "fallback-percentage":
                    fallback = ResponseHeaderValues.ParseDouble(value) is { } percentage && double.IsFinite(percentage) && percentage >= 0 ? percentage : null;
                    break;
                default:
                    ReadWindowField(field, value, ref windows);
                    break;
            }
        }
        if (windows is not null)
        {
            foreach (var (key, window) in windows)
            {
                if (window.Utilization is null && window.ResetsAt is null && window.Status is null)
                {
                    windows.Remove(key);
                }
            }
        }
        if (status is null && claim is null && overageStatus is null && fallback is null && (windows is null || windows.Count == 0))
        {
            return null;
        }
        UsageWindow[] ordered = windows is null ? [] : [.. windows.Values.OrderBy(w => w.WindowMinutes ?? int.MaxValue).ThenBy(w => w.Name, StringComparer.Ordinal)];
        return new AccountUsage
        {
            UpdatedAt = now,
            Status = status,
            ResetsAt = status is null ? null : reset,
            RepresentativeClaim = claim,
            Windows = ordered,
            Overage = overageStatus is null && overageReset is null ? null : new UsageOverage(overageStatus, overageReset),
            FallbackPercentage = fallback,
        };
    }

    /// <summary>Reads <c>&lt;window&gt;-utilization</c>, <c>-reset</c> or <c>-status</c> (for example <c>5h-utilization</c>).</summary>
    private static void ReadWindowField(string field, string value, ref Dictionary<string, UsageWindow>? windows)
    {
        var dash = field.LastIndexOf('-');
        if (dash <= 0 || field.StartsWith("overage", StringComparison.Ordinal))
        {
            return;
        }
        var key = field[..dash];
        var kind = field[(dash + 1)..];
        if (kind is not ("utilization" or "reset" or "status"))
        {
            return;
        }
        windows ??= new Dictionary<string, UsageWindow>(StringComparer.Ordinal);
        if (!windows.TryGetValue(key, out var window))
        {
            var (name, minutes) = WindowName(key);
            window = new UsageWindow(name, minutes, null, null, null);
        }
        windows[key] = kind switch
        {
            "utilization" => window with { Utilization = ResponseHeaderValues.ParseDouble(value) is { } u && double.IsFinite(u) && u >= 0 ? Math.Min(u, 1) : null },
            "reset" => window with { ResetsAt = ResponseHeaderValues.ParseEpochSeconds(value) },
            _ => window with { Status = StatusValue(value) },
        };
    }

    /// <summary>
    /// Names a window by its header key the way Anthropic's usage endpoint does: <c>5h</c> is
    /// <c>five_hour</c> (300 minutes), <c>7d</c> is <c>seven_day</c>, <c>7d_opus</c> is <c>seven_day_opus</c>.
    /// A key of another shape keeps its own name and has no known length.
    /// </summary>
    internal static (string Name, int? Minutes) WindowName(string key)
    {
        var digits = 0;
        while (digits < key.Length && char.IsAsciiDigit(key[digits]))
        {
            digits++;
        }
        var suffixStart = key.IndexOf('_', digits);
        var unit = suffixStart < 0 ? key[digits..] : key[digits..suffixStart];
        var (unitName, unitMinutes) = unit switch
        {
            "m" or "min" => ("minute", 1),
            "h" => ("hour", 60),
            "d" => ("day", 1440),
            "w" => ("week", 10080),
            _ => ((string?)null, 0),
        };
        if (digits == 0 || digits > 4 || unitName is null)
        {
            return (key, null);
        }
        var count = int.Parse(key.AsSpan(0, digits), CultureInfo.InvariantCulture);
        var countName = count < NumberWords.Length ? NumberWords[count] : count.ToString(CultureInfo.InvariantCulture);
        var suffix = suffixStart < 0 ? "" : key[suffixStart..];
        return (countName + "_" + unitName + suffix, count * unitMinutes);
    }

    /// <summary>
    /// The length in minutes of a window named the way <see cref="WindowName"/> names it (<c>five_hour</c> is 300,
    /// <c>seven_day_opus</c> 10080), or null for a name of another shape.
    /// </summary>
    internal static int? WindowMinutes(string name)
    {
        var first = name.IndexOf('_');
        if (first <= 0)
        {
            return null;
        }
        var second = name.IndexOf('_', first + 1);
        var unit = second < 0 ? name.AsSpan(first + 1) : name.AsSpan(first + 1, second - first - 1);
        var unitMinutes = unit switch
        {
            "minute" => 1,
            "hour" => 60,
            "day" => 1440,
            "week" => 10080,
            _ => 0,
        };
        var countText = name.AsSpan(0, first);
        var count = Array.IndexOf(NumberWords, countText.ToString());
        if (count < 0 && (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count > 9999))
        {
            return null;
        }
        return unitMinutes == 0 || count == 0 ? null : count * unitMinutes;
    }

    private static string? StatusValue(string value) => value.Length is > 0 and <= 64 ? value.ToLowerInvariant() : null;
}
