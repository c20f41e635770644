namespace Ccflare.Analytics;

// The shapes of GET /api/analytics and GET /api/stats (ccflare's camelCase names).
// Rates are percentages (0-100) and averages are rounded to 2 decimals.

internal sealed record AnalyticsResult(
    AnalyticsMeta Meta,
    AnalyticsTotals Totals,
    IReadOnlyList<TimeSeriesPoint> TimeSeries,
    TokenBreakdown TokenBreakdown,
    IReadOnlyList<ModelCount> ModelDistribution,
    IReadOnlyList<AccountPerformance> AccountPerformance,
    IReadOnlyList<ModelCost> CostByModel,
    IReadOnlyList<ModelPerformance> ModelPerformance,
    IReadOnlyList<ProviderPerformance> ProviderBreakdown);

internal sealed record AnalyticsMeta(string Range, string Bucket, bool Cumulative, bool ModelBreakdown);

/// <summary>
/// ccflare names the count <c>requests</c> in <c>/api/analytics</c> and <c>totalRequests</c> in <c>/api/stats</c>;
/// both are written here so either reader finds its name.
/// </summary>
internal sealed record AnalyticsTotals(
    long TotalRequests, double SuccessRate, int ActiveAccounts, double AvgResponseTime, long TotalTokens, decimal TotalCostUsd, double AvgTokensPerSecond)
{
    public long Requests => TotalRequests;
}

/// <summary>One bucket; <see cref="Model"/> is set when the request asked for <c>modelBreakdown=true</c>.</summary>
internal sealed record TimeSeriesPoint(
    long Ts, string? Model, long Requests, long Tokens, decimal CostUsd, double SuccessRate, double ErrorRate, double CacheHitRate, double AvgResponseTime, double AvgTokensPerSecond);

internal sealed record TokenBreakdown(long InputTokens, long CacheReadInputTokens, long CacheCreationInputTokens, long OutputTokens);

internal sealed record ModelCount(string Model, long Count);

internal sealed record AccountPerformance(string Name, long Requests, double SuccessRate);

internal sealed record ModelCost(string Model, decimal CostUsd, long Requests, long TotalTokens);

internal sealed record ModelPerformance(
    string Model, double AvgResponseTime, double P95ResponseTime, double ErrorRate, double AvgTokensPerSecond, double MinTokensPerSecond, double MaxTokensPerSecond);

internal sealed record ProviderPerformance(string Provider, long Requests, double SuccessRate, long TotalTokens, decimal TotalCostUsd);
