using System.Globalization;
using System.Runtime.InteropServices;
using System.Net.Http.Headers;
using Ccflare.Compat;

namespace Ccflare.Providers;

/// <summary>
/// The Anthropic family: Messages API, <c>x-api-key</c> by default, <c>anthropic-ratelimit-unified-*</c>
/// headers for subscription windows and <c>anthropic-ratelimit-requests-*</c> / <c>-tokens-*</c> for an API
/// key's limits. The built-in <c>anthropic</c> provider and every provider configured with
/// <c>Family = anthropic</c> (an Anthropic-compatible endpoint) are instances of it.
/// </summary>
internal class AnthropicProvider(ProviderSettings settings) : UpstreamProvider(settings)
{
    public const string BuiltInName = "anthropic";
    public const string DefaultBaseUrl = "https://api.anthropic.com";

    private const string KeyLimitPrefix = "anthropic-ratelimit-";
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

    /// <summary>
    /// Reads the <c>anthropic-ratelimit-unified-*</c> headers, the API-key limits
    /// (<c>anthropic-ratelimit-requests-*</c>, <c>-tokens-*</c>, <c>-input-tokens-*</c>, <c>-output-tokens-*</c>)
    /// and, for a 429, <c>retry-after</c> and <c>x-ratelimit-reset</c>, in one pass. A response whose only
    /// rejected window is scoped to a model family does not limit the account: its usage routes that
    /// family elsewhere. A success with an API-key limit spent rests the key until that limit resets.
    /// </summary>
    public override AccountFeedback ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var read = new LimitHeaders();
        foreach (var header in headers.NonValidated)
        {
            read.Add(header.Key, header.Value);
        }
        var usage = read.ToUsage(now);
        var familyOnly = OnlyFamilyRejected(read.Status, usage, out var rejected);
        var limits = read.KeyLimits();
        if (statusCode == 429)
        {
            return new AccountFeedback(ReadRateLimited(read, limits, usage, familyOnly, rejected, now), usage);
        }
        var unifiedHard = read.Status is not null && Array.IndexOf(HardStatuses, read.Status) >= 0 && !familyOnly;
        var keySpent = limits.AnySpent && !unifiedHard;
        var status = keySpent ? "rate_limited" : read.Status ?? (limits.HasData ? UsageStatuses.Allowed : null);
        var reset = keySpent ? limits.Reset : read.Reset ?? limits.Reset;
        return new AccountFeedback(new RateLimitInfo(status, reset, read.Remaining ?? read.Requests.Remaining, unifiedHard || keySpent), usage);
    }

    /// <summary>
    /// Whether every rejection the response reports is scoped to a model family (a rejected
    /// <c>seven_day_opus</c> window, or a rejected status whose representative claim is one).
    /// <paramref name="rejected"/> is the rejected window that binds, a plan-wide one before a family's.
    /// </summary>
    private static bool OnlyFamilyRejected(string? status, AccountUsage? usage, out UsageWindow? rejected)
    {
        rejected = null;
        if (usage is null)
        {
            return false;
        }
        var onlyFamilyRejected = false;
        foreach (var window in usage.Windows)
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
        var claimIsFamily = usage.RepresentativeClaim is { } claim && AccountUsage.WindowFamily(claim) is not null;
        return rejected is not null
            ? onlyFamilyRejected && (status != UsageStatuses.Rejected || claimIsFamily)
            : status == UsageStatuses.Rejected && claimIsFamily;
    }

    /// <summary>
    /// A 429 cools the account down until the most specific reset it carries: the rejected window's, then
    /// <c>retry-after</c>, then the reset of the API-key limit it hit (see <see cref="LimitResets"/>: a
    /// per-minute token limit rests the key for seconds, never for a plan window), then
    /// <c>x-ratelimit-reset</c>, then the unified reset when the unified status is rejected. Without any,
    /// the reset stays unknown and the cool-down is short. A 429 whose only rejected window is scoped to a
    /// model family, or that only reports the overage pool spent while the plan's windows have room, does
    /// not park the account.
    /// </summary>
    private static RateLimitInfo ReadRateLimited(in LimitHeaders read, in LimitResets limits, AccountUsage? usage, bool familyOnly, UsageWindow? rejected, DateTimeOffset now)
    {
        var status = read.Status;
        if (familyOnly)
        {
            return new RateLimitInfo(status, rejected?.ResetsAt ?? usage?.ResetsAt, read.Remaining, IsHardLimited: false);
        }
        var planHasRoom = status is UsageStatuses.Allowed or UsageStatuses.AllowedWarning && rejected is null;
        if (planHasRoom && (read.OverageStatus == UsageStatuses.Rejected || read.OverageDisabled))
        {
            return new RateLimitInfo(status, null, read.Remaining, IsHardLimited: true);
        }
        var reset = rejected?.ResetsAt
            ?? ResponseHeaderValues.RetryAfter(read.RetryAfter, now)
            ?? limits.Reset
            ?? ResponseHeaderValues.ParseEpochSeconds(read.RateLimitReset)
            ?? (status == UsageStatuses.Rejected ? read.Reset : null);
        return new RateLimitInfo(status is null || planHasRoom ? "rate_limited" : status, reset, read.Remaining ?? read.Requests.Remaining, IsHardLimited: true);
    }

    /// <summary>The headers of one response that matter to the account, gathered in one pass.</summary>
    private struct LimitHeaders
    {
        public string? Status;
        public DateTimeOffset? Reset;
        public long? Remaining;
        public string? Claim;
        public string? OverageStatus;
        public DateTimeOffset? OverageReset;
        public bool OverageDisabled;
        public double? FallbackPercentage;
        public string? RetryAfter;
        public string? RateLimitReset;
        public KeyLimit Requests;
        public KeyLimit Tokens;
        public KeyLimit InputTokens;
        public KeyLimit OutputTokens;
        private Dictionary<string, WindowFields>? _windows;

        public void Add(string name, HeaderStringValues values)
        {
            if (!name.StartsWith(UnifiedPrefix, StringComparison.OrdinalIgnoreCase))
            {
                if (name.StartsWith(KeyLimitPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    AddKeyLimitField(name.AsSpan(KeyLimitPrefix.Length), values.ToString());
                }
                else if (name.Equals("retry-after", StringComparison.OrdinalIgnoreCase))
                {
                    RetryAfter = values.ToString();
                }
                else if (name.Equals("x-ratelimit-reset", StringComparison.OrdinalIgnoreCase))
                {
                    RateLimitReset = values.ToString();
                }
                return;
            }
            var field = name.AsSpan(UnifiedPrefix.Length);
            var value = values.ToString().Trim();
            if (field.Equals("status", StringComparison.OrdinalIgnoreCase))
            {
                Status = StatusValue(value);
            }
            else if (field.Equals("reset", StringComparison.OrdinalIgnoreCase))
            {
                Reset = ResponseHeaderValues.ParseEpochSeconds(value);
            }
            else if (field.Equals("remaining", StringComparison.OrdinalIgnoreCase))
            {
                Remaining = ResponseHeaderValues.ParseLong(value);
            }
            else if (field.Equals("representative-claim", StringComparison.OrdinalIgnoreCase))
            {
                Claim = StatusValue(value);
            }
            else if (field.StartsWith("overage", StringComparison.OrdinalIgnoreCase))
            {
                AddOverage(field, value);
            }
            else if (field.Equals("fallback-percentage", StringComparison.OrdinalIgnoreCase))
            {
                FallbackPercentage = ResponseHeaderValues.ParseDouble(value) is { } percentage && double.IsFinite(percentage) && percentage >= 0 ? percentage : null;
            }
            else
            {
                AddWindowField(field, value);
            }
        }

        /// <summary>Reads <c>&lt;limit&gt;-remaining</c> or <c>-reset</c> (for example <c>input-tokens-reset</c>); <c>-limit</c> is not needed.</summary>
        private void AddKeyLimitField(ReadOnlySpan<char> field, string value)
        {
            var dash = field.LastIndexOf('-');
            if (dash <= 0)
            {
                return;
            }
            var kind = field[(dash + 1)..];
            var isReset = kind.Equals("reset", StringComparison.OrdinalIgnoreCase);
            if (!isReset && !kind.Equals("remaining", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
            var limit = field[..dash];
            if (limit.Equals("requests", StringComparison.OrdinalIgnoreCase))
            {
                Requests.Set(isReset, value);
            }
            else if (limit.Equals("tokens", StringComparison.OrdinalIgnoreCase))
            {
                Tokens.Set(isReset, value);
            }
            else if (limit.Equals("input-tokens", StringComparison.OrdinalIgnoreCase))
            {
                InputTokens.Set(isReset, value);
            }
            else if (limit.Equals("output-tokens", StringComparison.OrdinalIgnoreCase))
            {
                OutputTokens.Set(isReset, value);
            }
        }

        public readonly LimitResets KeyLimits()
        {
            var limits = new LimitResets();
            limits.Add(Requests.Remaining, Requests.Reset);
            limits.Add(Tokens.Remaining, Tokens.Reset);
            limits.Add(InputTokens.Remaining, InputTokens.Reset);
            limits.Add(OutputTokens.Remaining, OutputTokens.Reset);
            return limits;
        }

        private void AddOverage(ReadOnlySpan<char> field, string value)
        {
            if (field.Equals("overage-status", StringComparison.OrdinalIgnoreCase))
            {
                OverageStatus = StatusValue(value);
            }
            else if (field.Equals("overage-reset", StringComparison.OrdinalIgnoreCase))
            {
                OverageReset = ResponseHeaderValues.ParseEpochSeconds(value);
            }
            else if (field.Equals("overage-disabled-reason", StringComparison.OrdinalIgnoreCase))
            {
                OverageDisabled = value.Length > 0;
            }
        }

        /// <summary>Reads <c>&lt;window&gt;-utilization</c>, <c>-reset</c> or <c>-status</c> (for example <c>5h-utilization</c>).</summary>
        private void AddWindowField(ReadOnlySpan<char> field, string value)
        {
            var dash = field.LastIndexOf('-');
            if (dash <= 0)
            {
                return;
            }
            var kind = field[(dash + 1)..];
            var isUtilization = kind.Equals("utilization", StringComparison.OrdinalIgnoreCase);
            var isReset = !isUtilization && kind.Equals("reset", StringComparison.OrdinalIgnoreCase);
            if (!isUtilization && !isReset && !kind.Equals("status", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
            _windows ??= new Dictionary<string, WindowFields>(StringComparer.OrdinalIgnoreCase);
            var lookup = _windows.GetAlternateLookup<ReadOnlySpan<char>>();
            ref var window = ref CollectionsMarshal.GetValueRefOrAddDefault(lookup, field[..dash], out _);
            if (isUtilization)
            {
                window.Utilization = ResponseHeaderValues.ParseDouble(value) is { } u && double.IsFinite(u) && u >= 0 ? Math.Min(u, 1) : null;
            }
            else if (isReset)
            {
                window.ResetsAt = ResponseHeaderValues.ParseEpochSeconds(value);
            }
            else
            {
                window.Status = StatusValue(value);
            }
        }

        public readonly AccountUsage? ToUsage(DateTimeOffset now)
        {
            var count = 0;
            if (_windows is not null)
            {
                foreach (var fields in _windows.Values)
                {
                    count += fields.HasData ? 1 : 0;
                }
            }
            if (Status is null && Claim is null && OverageStatus is null && FallbackPercentage is null && count == 0)
            {
                return null;
            }
            var windows = count == 0 ? [] : new UsageWindow[count];
            if (count > 0)
            {
                var i = 0;
                foreach (var (key, fields) in _windows!)
                {
                    if (fields.HasData)
                    {
                        var (name, minutes) = WindowName(key.ToLowerInvariant());
                        windows[i++] = new UsageWindow(name, minutes, fields.Utilization, fields.ResetsAt, fields.Status);
                    }
                }
                Array.Sort(windows, static (a, b) => (a.WindowMinutes ?? int.MaxValue).CompareTo(b.WindowMinutes ?? int.MaxValue) is var byLength and not 0
                    ? byLength
                    : string.CompareOrdinal(a.Name, b.Name));
            }
            return new AccountUsage
            {
                UpdatedAt = now,
                Status = Status,
                ResetsAt = Status is null ? null : Reset,
                RepresentativeClaim = Claim,
                Windows = windows,
                Overage = OverageStatus is null && OverageReset is null ? null : new UsageOverage(OverageStatus, OverageReset),
                FallbackPercentage = FallbackPercentage,
            };
        }
    }

    /// <summary>One API-key limit: what remains of it and when it is replenished (an RFC 3339 timestamp).</summary>
    private struct KeyLimit
    {
        public long? Remaining;
        public DateTimeOffset? Reset;

        public void Set(bool isReset, string value)
        {
            if (isReset)
            {
                Reset = ResponseHeaderValues.ParseTimestamp(value);
            }
            else
            {
                Remaining = ResponseHeaderValues.ParseLong(value) is >= 0 and var remaining ? remaining : null;
            }
        }
    }

    private struct WindowFields
    {
        public double? Utilization;
        public DateTimeOffset? ResetsAt;
        public string? Status;

        public readonly bool HasData => Utilization is not null || ResetsAt is not null || Status is not null;
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

    private static string? StatusValue(string value) => value.Length is > 0 and <= 64 ? value.ToLowerInvariant() : null;
}
