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

/// <summary>
/// The reset that decides a cool-down among the limits one response reports (requests, tokens, ...),
/// each with what remains of it and when it resets: the spent limit's reset (the later when several are
/// spent), else the soonest, because a rate limit that does not say which limit it hit must not rest an
/// account for a long limit when a short one was the one reached.
/// </summary>
internal struct LimitResets
{
    private DateTimeOffset? _spentReset;
    private DateTimeOffset? _soonestReset;

    /// <summary>Whether a limit reported nothing remaining.</summary>
    public bool AnySpent { readonly get; private set; }

    /// <summary>Whether any limit reported what remains or when it resets.</summary>
    public bool HasData { readonly get; private set; }

    public readonly DateTimeOffset? Reset => AnySpent ? _spentReset : _soonestReset;

    public void Add(long? remaining, DateTimeOffset? reset)
    {
        HasData |= remaining is not null || reset is not null;
        if (remaining == 0)
        {
            AnySpent = true;
            if (reset > _spentReset || _spentReset is null)
            {
                _spentReset = reset ?? _spentReset;
            }
        }
        if (reset < _soonestReset || _soonestReset is null)
        {
            _soonestReset = reset ?? _soonestReset;
        }
    }
}

/// <summary>Parsing of the header values providers report rate limits and usage in.</summary>
internal static class ResponseHeaderValues
{
    private const long MaxEpochMilliseconds = 253_402_300_799_999;

    /// <summary>Longest reset a duration may name; a longer one is malformed, not a reason to fail.</summary>
    private static readonly string[] TimestampFormats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];

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

    /// <summary>An RFC 3339 timestamp such as <c>2026-12-04T12:00:40Z</c>; anything else is null.</summary>
    public static DateTimeOffset? ParseTimestamp(string? raw) =>
        DateTimeOffset.TryParseExact(raw, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var at) ? at : null;

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
