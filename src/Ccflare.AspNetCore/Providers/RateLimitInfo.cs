using System.Globalization;

namespace Ccflare.Providers;

/// <summary>
/// What one upstream response says about its account, read by the account's provider in one pass
/// over the response headers: the rate limit that decides a cool-down, and the usage windows (null
/// when the response reports none).
/// </summary>
internal readonly record struct AccountFeedback(RateLimitInfo RateLimit, AccountUsage? Usage);

/// <summary>What one upstream response said about the account's rate limit (read by its provider).</summary>
internal readonly record struct RateLimitInfo(
    string? Status,
    DateTimeOffset? Reset,
    long? Remaining,
    bool IsHardLimited)
{
    public bool HasData => Status is not null || Reset is not null || Remaining is not null || IsHardLimited;
}

/// <summary>Parsing of the header values providers report rate limits and usage in.</summary>
internal static class ResponseHeaderValues
{
    private const long MaxEpochMilliseconds = 253_402_300_799_999;

    /// <summary>Longest reset a duration may name; a longer one is malformed, not a reason to fail.</summary>
    private static readonly double MaxDurationMs = TimeSpan.FromDays(366).TotalMilliseconds;

    /// <summary>A <c>retry-after</c> value (seconds or an HTTP date) as a point in time.</summary>
    public static DateTimeOffset? RetryAfter(string? raw, DateTimeOffset now)
    {
        if (raw is null)
        {
            return null;
        }
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds is >= 0 and < 366 * 86400)
        {
            return now + TimeSpan.FromSeconds(seconds);
        }
        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;
    }

    public static DateTimeOffset? ParseEpochSeconds(string? raw)
    {
        if (raw is null)
        {
            return null;
        }
        if (long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch))
        {
            // Some upstreams send milliseconds; anything past year 5000 in seconds is surely ms.
            return epoch switch
            {
                <= 0 or > MaxEpochMilliseconds => null,
                > 100_000_000_000 => DateTimeOffset.FromUnixTimeMilliseconds(epoch),
                _ => DateTimeOffset.FromUnixTimeSeconds(epoch),
            };
        }
        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;
    }

    public static long? ParseLong(string? raw) =>
        long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    public static double? ParseDouble(string? raw) =>
        double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>Parses OpenAI reset durations such as <c>1s</c>, <c>6m0s</c>, <c>120ms</c>, <c>1h2m3.5s</c>.</summary>
    public static TimeSpan? ParseDuration(string? raw)
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
        return any && totalMs <= MaxDurationMs ? TimeSpan.FromMilliseconds(totalMs) : null;
    }
}
