namespace Ccflare.Usage.Polling;

/// <summary>
/// When an account's usage endpoint is asked next. Every wait carries jitter of up to
/// <see cref="JitterFraction"/> of the interval, drawn per account and per poll, so accounts added
/// together do not poll together. Failures back off exponentially; a 429's <c>retry-after</c> is
/// honoured whenever it asks for longer than the backoff.
/// </summary>
internal sealed class UsagePollSchedule
{
    /// <summary>The most jitter added to a wait, as a share of the interval.</summary>
    public const double JitterFraction = 0.1;

    /// <summary>The longest backoff after failures in a row (never shorter than the interval itself).</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    /// <summary>The longest <c>retry-after</c> honoured; an endpoint asking for more is asked again after this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);

    private readonly Func<double> _random;

    /// <param name="interval">The poll interval.</param>
    /// <param name="random">A source of numbers in [0, 1), drawn once per wait.</param>
    public UsagePollSchedule(TimeSpan interval, Func<double> random)
    {
        Interval = interval;
        _random = random;
    }

    public TimeSpan Interval { get; }

    /// <summary>Wait before an account's first poll: jitter alone, so polling starts soon after an account appears.</summary>
    public TimeSpan First() => Jitter();

    /// <summary>Wait after a poll that worked: the interval plus jitter.</summary>
    public TimeSpan AfterSuccess() => Interval + Jitter();

    /// <summary>
    /// Wait after <paramref name="failures"/> failures in a row (1 for the first): the interval doubled per
    /// failure up to <see cref="MaxBackoff"/>, or the endpoint's <paramref name="retryAfter"/> when longer, plus jitter.
    /// </summary>
    public TimeSpan AfterFailure(int failures, TimeSpan? retryAfter)
    {
        var cap = Interval > MaxBackoff ? Interval : MaxBackoff;
        var backoff = Interval * Math.Pow(2, Math.Clamp(failures, 1, 30));
        if (backoff > cap)
        {
            backoff = cap;
        }
        if (retryAfter is { } asked && asked > backoff)
        {
            backoff = asked < MaxRetryAfter ? asked : MaxRetryAfter;
        }
        return backoff + Jitter();
    }

    private TimeSpan Jitter() => Interval * (JitterFraction * Math.Clamp(_random(), 0, 0.999_999));
}
