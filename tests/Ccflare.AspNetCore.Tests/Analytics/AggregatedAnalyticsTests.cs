using System.Runtime.CompilerServices;
using System.Text.Json;
using Ccflare.Analytics;
using Ccflare.Http;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Tests.Analytics;

/// <summary>
/// A store that aggregates itself (<see cref="ICcflareRequestAggregates"/>) must give the same analytics as
/// streaming its rows. The groups here are computed in C# from the hand-checked data set; the PostgreSQL
/// store's SQL version is checked the same way in its own test project.
/// </summary>
public sealed class AggregatedAnalyticsTests
{
    private static readonly Func<string, string?> Names = id => id == "g1" ? "gamma" : null;

    public static TheoryData<string> Queries => new()
    {
        "range=1h", "range=6h", "range=24h", "range=7d", "range=30d", "range=1h&mode=cumulative", "range=24h&modelBreakdown=true",
        "range=1h&status=error", "range=1h&status=success", "range=1h&models=gpt-5", "range=24h&users=u1", "range=1h&modelBreakdown=true&mode=cumulative",
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Groups_give_the_same_result_as_rows(string query)
    {
        var request = AnalyticsRequest.Parse(new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query)), out var error);
        Assert.True(request is not null, error);
        var store = new GroupingStore(AnalyticsDataSet.Rows());

        var fromRows = AnalyticsCalculator.Compute(AnalyticsDataSet.Rows(), request!, AnalyticsDataSet.Now, Names);
        var fromGroups = await AnalyticsCalculator.ComputeAsync(store, request!, AnalyticsDataSet.Now, Names, CancellationToken.None);

        Assert.Equal(JsonSerializer.Serialize(fromRows, CcflareJson.Options), JsonSerializer.Serialize(fromGroups, CcflareJson.Options));
        Assert.NotEmpty(fromGroups.ModelPerformance);
    }

    [Fact]
    public async Task Stats_from_groups_equal_stats_from_rows()
    {
        var store = new GroupingStore(AnalyticsDataSet.Rows());

        var fromRows = await AnalyticsCalculator.StatsAsync(ToAsync(AnalyticsDataSet.Rows()), Names, CancellationToken.None);
        var fromGroups = await AnalyticsCalculator.StatsAsync(store, Names, CancellationToken.None);

        Assert.Equal(fromRows.Totals, fromGroups.Totals);
        Assert.Equal(fromRows.TopModels, fromGroups.TopModels);
        Assert.Equal(7, fromGroups.Totals.TotalRequests);
    }

    [Fact]
    public void An_account_filter_falls_back_to_rows()
    {
        var store = new GroupingStore([]);
        var byAccount = AnalyticsRequest.Parse(new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("range=1h&accounts=alpha")), out _)!;
        var all = AnalyticsRequest.Parse(new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("range=1h")), out _)!;

        Assert.False(AnalyticsCalculator.CanAggregateIn(store, byAccount, out _));
        Assert.True(AnalyticsCalculator.CanAggregateIn(store, all, out _));
        Assert.False(AnalyticsCalculator.CanAggregateIn(new Ccflare.Storage.InMemoryStore(), all, out _));
    }

    private static async IAsyncEnumerable<RequestRecord> ToAsync(IEnumerable<RequestRecord> rows, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return row;
        }
        await Task.CompletedTask;
    }

    /// <summary>Groups and percentiles computed from rows the way a database would.</summary>
    private sealed class GroupingStore(IReadOnlyList<RequestRecord> rows) : InMemoryStoreBase, ICcflareRequestAggregates
    {
        private IEnumerable<RequestRecord> Matching(RequestQuery q) => rows.Where(r =>
            (q.From is not { } from || r.Timestamp >= from) && (q.To is not { } to || r.Timestamp < to)
            && (q.AccountIds.Count == 0 || (r.AccountUsed is not null && q.AccountIds.Contains(r.AccountUsed)))
            && (q.Models.Count == 0 || (r.Model is not null && q.Models.Contains(r.Model)))
            && (q.UserIds.Count == 0 || (r.UserId is not null && q.UserIds.Contains(r.UserId)))
            && (q.Status == RequestStatusFilter.All || (q.Status == RequestStatusFilter.Success) == r.Success));

        public IAsyncEnumerable<RequestGroup> AggregateRequestsAsync(RequestQuery query, TimeSpan bucket, CancellationToken cancellationToken)
        {
            var bucketMs = (long)bucket.TotalMilliseconds;
            var groups = Matching(query)
                .GroupBy(r => (Bucket: bucketMs > 0 ? (long)Math.Floor(r.Timestamp.ToUnixTimeMilliseconds() / (double)bucketMs) * bucketMs : 0, r.Model, r.AccountUsed, r.AccountName, r.Provider, r.Success))
                .Select(g =>
                {
                    var tps = g.Where(r => r.OutputTokensPerSecond > 0).Select(r => r.OutputTokensPerSecond!.Value).ToList();
                    return new RequestGroup
                    {
                        BucketStart = DateTimeOffset.FromUnixTimeMilliseconds(g.Key.Bucket),
                        Model = g.Key.Model,
                        AccountUsed = g.Key.AccountUsed,
                        AccountName = g.Key.AccountName,
                        Provider = g.Key.Provider,
                        Success = g.Key.Success,
                        Requests = g.Count(),
                        TotalTokens = g.Sum(r => r.TotalTokens ?? 0),
                        CostUsd = g.Sum(r => r.CostUsd ?? 0),
                        ResponseTimeSumMs = g.Sum(r => r.ResponseTimeMs ?? 0),
                        ResponseTimeCount = g.Count(r => r.ResponseTimeMs is not null),
                        TokensPerSecondSum = tps.Sum(),
                        TokensPerSecondCount = tps.Count,
                        TokensPerSecondMin = tps.Count == 0 ? null : tps.Min(),
                        TokensPerSecondMax = tps.Count == 0 ? null : tps.Max(),
                        InputTokens = g.Sum(r => r.InputTokens ?? 0),
                        CacheReadInputTokens = g.Sum(r => r.CacheReadInputTokens ?? 0),
                        CacheCreationInputTokens = g.Sum(r => r.CacheCreationInputTokens ?? 0),
                        OutputTokens = g.Sum(r => r.OutputTokens ?? 0),
                    };
                })
                .Reverse() // order must not matter
                .ToList();
            return ToAsyncGroups(groups);
        }

        private static async IAsyncEnumerable<RequestGroup> ToAsyncGroups(List<RequestGroup> groups)
        {
            foreach (var group in groups)
            {
                yield return group;
            }
            await Task.CompletedTask;
        }

        public Task<IReadOnlyDictionary<string, double>> ResponseTimePercentilesAsync(RequestQuery query, double percentile, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var model in Matching(query).Where(r => r.Model is not null && r.ResponseTimeMs is not null).GroupBy(r => r.Model!))
            {
                var sorted = model.Select(r => r.ResponseTimeMs!.Value).Order().ToList();
                result[model.Key] = sorted[(int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1];
            }
            return Task.FromResult<IReadOnlyDictionary<string, double>>(result);
        }
    }

    /// <summary>An <see cref="ICcflareStore"/> whose storage methods are not used by these tests.</summary>
    private abstract class InMemoryStoreBase : ICcflareStore
    {
        private readonly Ccflare.Storage.InMemoryStore _inner = new();

        public Task InitializeAsync(CancellationToken cancellationToken) => _inner.InitializeAsync(cancellationToken);
        public Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken) => _inner.GetAccountsAsync(cancellationToken);
        public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken) => _inner.AddAccountAsync(account, cancellationToken);
        public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken) => _inner.UpdateAccountAsync(account, cancellationToken);
        public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) => _inner.DeleteAccountAsync(id, cancellationToken);
        public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken) => _inner.WriteRequestsAsync(records, cancellationToken);
        public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken) => _inner.GetRecentRequestsAsync(limit, includePayloads, cancellationToken);
        public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken) => _inner.GetRequestAsync(id, cancellationToken);
        public IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, CancellationToken cancellationToken) => _inner.QueryRequestsAsync(query, cancellationToken);
        public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken) => _inner.DeleteRequestsAsync(olderThan, cancellationToken);
        public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) => _inner.DeletePayloadsAsync(olderThan, cancellationToken);
        public Task CompactAsync(CancellationToken cancellationToken) => _inner.CompactAsync(cancellationToken);
        public Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken) => _inner.GetSettingsAsync(cancellationToken);
        public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) => _inner.SetSettingAsync(key, value, cancellationToken);
        public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken) => _inner.SaveAuthSessionAsync(session, cancellationToken);
        public Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken) => _inner.GetAuthSessionAsync(id, cancellationToken);
        public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) => _inner.DeleteAuthSessionAsync(id, cancellationToken);
        public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) => _inner.DeleteExpiredAuthSessionsAsync(now, cancellationToken);
        public Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) => _inner.GetUsersAsync(cancellationToken);
        public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken) => _inner.AddUserAsync(user, cancellationToken);
        public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) => _inner.DeleteUserAsync(id, cancellationToken);
    }
}
