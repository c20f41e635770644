using Ccflare.Analytics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ccflare.Tests.Analytics;

public sealed class AnalyticsCalculatorTests
{
    private static readonly Func<string, string?> Names = id => id == "g1" ? "gamma" : null;

    private static AnalyticsResult Run(string query)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query);
        var request = AnalyticsRequest.Parse(new QueryCollection(parsed), out var error);
        Assert.True(request is not null, error);
        return AnalyticsCalculator.Compute(AnalyticsDataSet.Rows(), request!, AnalyticsDataSet.Now, Names);
    }

    private static long Ms(string time) => DateTimeOffset.Parse("2026-01-10T" + time + "Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    [Fact]
    public void Last_hour_totals_breakdowns_and_per_minute_buckets()
    {
        var result = Run("range=1h");

        Assert.Equal(new AnalyticsMeta("1h", "1m", false, false), result.Meta);
        Assert.Equal(new AnalyticsTotals(6, 66.67, 3, 341.67, 1090, 0.036m, 16.25), result.Totals);
        Assert.Equal(
            [
                new TimeSeriesPoint(Ms("11:10:00"), null, 2, 550, 0.01m, 50, 50, 60, 200, 10),
                new TimeSeriesPoint(Ms("11:30:00"), null, 2, 520, 0.025m, 100, 0, 25, 300, 25),
                new TimeSeriesPoint(Ms("11:45:00"), null, 1, 20, 0.001m, 100, 0, 0, 1000, 5),
                new TimeSeriesPoint(Ms("11:59:00"), null, 1, 0, 0m, 0, 100, 0, 50, 0),
            ],
            result.TimeSeries);
        Assert.Equal(new TokenBreakdown(410, 400, 100, 180), result.TokenBreakdown);
        Assert.Equal([new ModelCount("gpt-5", 3), new ModelCount("claude-sonnet-4-5", 2), new ModelCount("claude-haiku-4-5", 1)], result.ModelDistribution);
        Assert.Equal([new AccountPerformance("alpha", 3, 33.33), new AccountPerformance("beta", 2, 100), new AccountPerformance("gamma", 1, 100)], result.AccountPerformance);
        Assert.Equal(
            [new ModelCost("gpt-5", 0.025m, 3, 520), new ModelCost("claude-sonnet-4-5", 0.01m, 2, 550), new ModelCost("claude-haiku-4-5", 0.001m, 1, 20)],
            result.CostByModel);
        Assert.Equal(
            [
                new ModelPerformance("gpt-5", 216.67, 400, 33.33, 25, 20, 30),
                new ModelPerformance("claude-sonnet-4-5", 200, 300, 50, 10, 10, 10),
                new ModelPerformance("claude-haiku-4-5", 1000, 1000, 0, 5, 5, 5),
            ],
            result.ModelPerformance);
    }

    [Fact]
    public void Cumulative_mode_keeps_running_totals_of_requests_tokens_and_cost()
    {
        var result = Run("range=1h&mode=cumulative");

        Assert.True(result.Meta.Cumulative);
        Assert.Equal([2L, 4, 5, 6], result.TimeSeries.Select(p => p.Requests));
        Assert.Equal([550L, 1070, 1090, 1090], result.TimeSeries.Select(p => p.Tokens));
        Assert.Equal([0.01m, 0.035m, 0.036m, 0.036m], result.TimeSeries.Select(p => p.CostUsd));
        Assert.Equal([50d, 100, 100, 0], result.TimeSeries.Select(p => p.SuccessRate)); // rates stay per bucket
        Assert.Equal(6, result.Totals.TotalRequests);
    }

    [Fact]
    public void Model_breakdown_gives_one_series_per_model_and_cumulates_per_model()
    {
        var result = Run("range=1h&modelBreakdown=true&mode=cumulative");

        Assert.Equal(
            [
                (Ms("11:10:00"), "claude-sonnet-4-5", 2L, 550L),
                (Ms("11:30:00"), "gpt-5", 2L, 520L),
                (Ms("11:45:00"), "claude-haiku-4-5", 1L, 20L),
                (Ms("11:59:00"), "gpt-5", 3L, 520L),
            ],
            result.TimeSeries.Select(p => (p.Ts, p.Model!, p.Requests, p.Tokens)));
    }

    [Theory]
    [InlineData("range=1h&accounts=alpha", 3, 33.33, 550)]
    [InlineData("range=1h&accounts=gamma", 1, 100, 20)]
    [InlineData("range=1h&accounts=alpha,beta", 5, 60, 1070)]
    [InlineData("range=1h&accounts=nobody", 0, 0, 0)]
    [InlineData("range=1h&models=gpt-5", 3, 66.67, 520)]
    [InlineData("range=1h&models=gpt-5,claude-haiku-4-5", 4, 75, 540)]
    [InlineData("range=1h&status=error", 2, 0, 0)]
    [InlineData("range=1h&status=success", 4, 100, 1090)]
    [InlineData("range=1h&users=u1", 2, 50, 20)]
    [InlineData("range=1h&accounts=alpha&models=gpt-5", 1, 0, 0)]
    [InlineData("range=24h", 7, 71.43, 1100)]
    [InlineData("range=6h", 7, 71.43, 1100)]
    public void Filters_select_the_expected_rows(string query, long requests, double successRate, long tokens)
    {
        var result = Run(query);

        Assert.Equal(requests, result.Totals.TotalRequests);
        Assert.Equal(successRate, result.Totals.SuccessRate);
        Assert.Equal(tokens, result.Totals.TotalTokens);
        Assert.Equal(requests, result.TimeSeries.Sum(p => p.Requests));
    }

    [Fact]
    public void Day_range_uses_hour_buckets()
    {
        var result = Run("range=24h");

        Assert.Equal("1h", result.Meta.Bucket);
        Assert.Equal([(Ms("10:00:00"), 1L), (Ms("11:00:00"), 6L)], result.TimeSeries.Select(p => (p.Ts, p.Requests)));
        Assert.Equal(new[] { "5m", "1h", "1d" }, new[] { Run("range=6h").Meta.Bucket, Run("range=7d").Meta.Bucket, Run("range=30d").Meta.Bucket });
    }

    [Fact]
    public void P95_uses_the_nearest_rank()
    {
        var twenty = Enumerable.Range(1, 20).Select(i => i * 10.0).ToList();
        var twentyOne = Enumerable.Range(1, 21).Select(i => i * 10.0).ToList();

        Assert.Equal(190, AnalyticsCalculator.Percentile(twenty, 95));
        Assert.Equal(200, AnalyticsCalculator.Percentile(twentyOne, 95));
        Assert.Equal(0, AnalyticsCalculator.Percentile([], 95));
    }

    [Theory]
    [InlineData("range=2h")]
    [InlineData("status=ok")]
    [InlineData("mode=sum")]
    [InlineData("modelBreakdown=yes")]
    public void Bad_parameters_are_rejected(string query)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query);

        Assert.Null(AnalyticsRequest.Parse(new QueryCollection(parsed), out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Default_range_is_24h_and_lists_accept_repeats()
    {
        var parsed = new Dictionary<string, StringValues> { ["models"] = new(["a,b", "c", "a"]) };

        var request = AnalyticsRequest.Parse(new QueryCollection(parsed), out _);

        Assert.Equal("24h", request!.Range.Name);
        Assert.Equal(["a", "b", "c"], request.Models);
    }
}
