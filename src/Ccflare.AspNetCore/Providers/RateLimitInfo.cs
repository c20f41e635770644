using System.Globalization;
using System.Net.Http.Headers;

namespace Ccflare.Providers;

/// <summary>What one upstream response said about the account's rate limit.</summary>
internal readonly record struct RateLimitInfo(
    string? Status,
    DateTimeOffset? Reset,
    long? Remaining,
    bool IsHardLimited)
{
    public bool HasData => Status is not null || Reset is not null || Remaining is not null || IsHardLimited;
}

/// <summary>Reads Anthropic unified, OpenAI and Codex rate-limit headers.</summary>
internal static class RateLimitParser
{
    private static readonly string[] HardStatuses = ["rejected", "rate_limited", "blocked", "queueing_hard", "payment_required"];

    public static RateLimitInfo Parse(ProviderDescriptor provider, int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        return provider.Family == ProviderFamily.Anthropic
            ? ParseAnthropic(statusCode, headers, now)
            : provider.IsCodex ? ParseCodex(statusCode, headers, now) : ParseOpenAI(statusCode, headers, now);
    }

    private static RateLimitInfo ParseAnthropic(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var status = Get(headers, "anthropic-ratelimit-unified-status");
        var reset = ParseEpochSeconds(Get(headers, "anthropic-ratelimit-unified-reset"));
        var remaining = ParseLong(Get(headers, "anthropic-ratelimit-unified-remaining"));
        var hard = status is not null && Array.IndexOf(HardStatuses, status) >= 0;

        if (statusCode == 429)
        {
            hard = true;
            status ??= "rate_limited";
            reset ??= ParseEpochSeconds(Get(headers, "x-ratelimit-reset")) ?? RetryAfter(headers, now);
        }
        return new RateLimitInfo(status, reset, remaining, hard);
    }

    private static RateLimitInfo ParseOpenAI(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var remaining = ParseLong(Get(headers, "x-ratelimit-remaining-requests"));
        var resetIn = ParseDuration(Get(headers, "x-ratelimit-reset-requests"));
        DateTimeOffset? reset = resetIn is { } d ? now + d : null;
        var hard = statusCode == 429 || remaining == 0;
        if (statusCode == 429)
        {
            reset = RetryAfter(headers, now) ?? reset;
        }
        string? status = hard ? "rate_limited" : remaining is null && reset is null ? null : "allowed";
        return new RateLimitInfo(status, reset, remaining, hard);
    }

    private static RateLimitInfo ParseCodex(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var openAi = ParseOpenAI(statusCode, headers, now);
        var primary = ParseDouble(Get(headers, "x-codex-primary-used-percent"));
        var secondary = ParseDouble(Get(headers, "x-codex-secondary-used-percent"));
        if (primary is null && secondary is null)
        {
            return openAi;
        }

        var primaryReset = ParseEpochSeconds(Get(headers, "x-codex-primary-reset-at")) ?? ParseEpochSeconds(Get(headers, "x-codex-5h-reset-at"));
        var secondaryReset = ParseEpochSeconds(Get(headers, "x-codex-secondary-reset-at")) ?? ParseEpochSeconds(Get(headers, "x-codex-7d-reset-at"));
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

    private static string? Get(HttpResponseHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) && values.Count > 0 ? values.ToString() : null;

    private static DateTimeOffset? RetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var raw = Get(headers, "retry-after");
        if (raw is null)
        {
            return null;
        }
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return now + TimeSpan.FromSeconds(seconds);
        }
        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;
    }

    internal static DateTimeOffset? ParseEpochSeconds(string? raw)
    {
        if (raw is null)
        {
            return null;
        }
        if (long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch) && epoch > 0)
        {
            // Some upstreams send milliseconds; anything past year 5000 in seconds is surely ms.
            return epoch > 100_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds(epoch) : DateTimeOffset.FromUnixTimeSeconds(epoch);
        }
        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;
    }

    private static long? ParseLong(string? raw) =>
        long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static double? ParseDouble(string? raw) =>
        double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>Parses OpenAI reset durations such as <c>1s</c>, <c>6m0s</c>, <c>120ms</c>, <c>1h2m3.5s</c>.</summary>
    internal static TimeSpan? ParseDuration(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }
        var span = raw.AsSpan().Trim();
        double totalMs = 0;
        var any = false;
        while (!span.IsEmpty)
        {
            var numberLength = 0;
            while (numberLength < span.Length && (char.IsAsciiDigit(span[numberLength]) || span[numberLength] == '.'))
            {
                numberLength++;
            }
            if (numberLength == 0 || !double.TryParse(span[..numberLength], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }
            span = span[numberLength..];
            double unitMs;
            if (span.StartsWith("ms"))
            {
                unitMs = 1;
                span = span[2..];
            }
            else if (span.StartsWith("h"))
            {
                unitMs = 3_600_000;
                span = span[1..];
            }
            else if (span.StartsWith("m"))
            {
                unitMs = 60_000;
                span = span[1..];
            }
            else if (span.StartsWith("s"))
            {
                unitMs = 1000;
                span = span[1..];
            }
            else if (span.IsEmpty && !any)
            {
                unitMs = 1000;
            }
            else
            {
                return null;
            }
            totalMs += number * unitMs;
            any = true;
        }
        return any ? TimeSpan.FromMilliseconds(totalMs) : null;
    }
}
