namespace Ccflare;

/// <summary>
/// Optional capability of an <see cref="ICcflareStore"/> that can aggregate request history itself (a
/// database server). <c>/api/analytics</c> and <c>/api/stats</c> then read a few groups instead of
/// every row of the range, which keeps them fast on millions of rows. The results are the same.
/// </summary>
public interface ICcflareRequestAggregates
{
    /// <summary>
    /// The requests matching <paramref name="query"/>, grouped by time bucket (the start of the
    /// <paramref name="bucket"/>-wide interval since the Unix epoch; <see cref="DateTimeOffset.UnixEpoch"/>
    /// for every group when <paramref name="bucket"/> is zero), <see cref="RequestRecord.Model"/>,
    /// <see cref="RequestRecord.AccountUsed"/>, <see cref="RequestRecord.AccountName"/> and
    /// <see cref="RequestRecord.Success"/>, in no particular order.
    /// </summary>
    IAsyncEnumerable<RequestGroup> AggregateRequestsAsync(RequestQuery query, TimeSpan bucket, CancellationToken cancellationToken);

    /// <summary>
    /// Per model, the nearest-rank <paramref name="percentile"/> (0-100) of <see cref="RequestRecord.ResponseTimeMs"/>
    /// over the requests matching <paramref name="query"/> that have a model and a response time.
    /// </summary>
    Task<IReadOnlyDictionary<string, double>> ResponseTimePercentilesAsync(RequestQuery query, double percentile, CancellationToken cancellationToken);
}

/// <summary>One group of <see cref="ICcflareRequestAggregates.AggregateRequestsAsync"/>: sums over its requests (null values count as zero).</summary>
public sealed record RequestGroup
{
    /// <summary>Start of the time bucket.</summary>
    public DateTimeOffset BucketStart { get; init; }

    /// <summary>Model of the group's requests.</summary>
    public string? Model { get; init; }

    /// <summary>Account id of the group's requests.</summary>
    public string? AccountUsed { get; init; }

    /// <summary>Account name of the group's requests.</summary>
    public string? AccountName { get; init; }

    /// <summary>
    /// Provider of the group's requests, when the store groups by <see cref="RequestRecord.Provider"/> too; when null,
    /// analytics attribute the group to its account's provider.
    /// </summary>
    public string? Provider { get; init; }

    /// <summary>Whether the group's requests succeeded.</summary>
    public bool Success { get; init; }

    /// <summary>Number of requests.</summary>
    public long Requests { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.TotalTokens"/>.</summary>
    public long TotalTokens { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.CostUsd"/>.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.ResponseTimeMs"/>.</summary>
    public double ResponseTimeSumMs { get; init; }

    /// <summary>Requests with a <see cref="RequestRecord.ResponseTimeMs"/>.</summary>
    public long ResponseTimeCount { get; init; }

    /// <summary>Sum of the positive <see cref="RequestRecord.OutputTokensPerSecond"/> values.</summary>
    public double TokensPerSecondSum { get; init; }

    /// <summary>Requests with a positive <see cref="RequestRecord.OutputTokensPerSecond"/>.</summary>
    public long TokensPerSecondCount { get; init; }

    /// <summary>Smallest positive <see cref="RequestRecord.OutputTokensPerSecond"/>, or null.</summary>
    public double? TokensPerSecondMin { get; init; }

    /// <summary>Largest positive <see cref="RequestRecord.OutputTokensPerSecond"/>, or null.</summary>
    public double? TokensPerSecondMax { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.InputTokens"/>.</summary>
    public long InputTokens { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.CacheReadInputTokens"/>.</summary>
    public long CacheReadInputTokens { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.CacheCreationInputTokens"/>.</summary>
    public long CacheCreationInputTokens { get; init; }

    /// <summary>Sum of <see cref="RequestRecord.OutputTokens"/>.</summary>
    public long OutputTokens { get; init; }
}
