
namespace Ccflare.Analytics;

/// <summary>
/// Computes <c>/api/analytics</c> and <c>/api/stats</c> from request rows. Pure: the rows, the
/// filters and "now" come in, the result goes out. Definitions:
/// <list type="bullet">
/// <item>Buckets start at multiples of the bucket width since the Unix epoch (UTC); only buckets with requests appear.</item>
/// <item>successRate / errorRate: share of requests with a 2xx/3xx status / any other, in percent.</item>
/// <item>cacheHitRate: cache-read input tokens / all input tokens (uncached + cache read + cache write), in percent.</item>
/// <item>avgResponseTime: mean of responseTimeMs over rows that have it; p95 uses the nearest-rank method.</item>
/// <item>avgTokensPerSecond (and min/max): over rows with a positive output tokens-per-second.</item>
/// <item>Cumulative mode turns requests, tokens and costUsd into running totals (per model with a breakdown); rates stay per bucket.</item>
/// </list>
/// </summary>
internal static class AnalyticsCalculator
{
    /// <summary>Rows to load from the store for <paramref name="request"/> at <paramref name="now"/> (the store pre-filters; the calculator filters again).</summary>
    public static RequestQuery ToQuery(AnalyticsRequest request, DateTimeOffset now) => new()
    {
        From = now - request.Range.Length,
        Models = request.Models,
        UserIds = request.Users,
        Status = request.Status,
    };

    public static async Task<AnalyticsResult> ComputeAsync(
        IAsyncEnumerable<RequestRecord> rows, AnalyticsRequest request, DateTimeOffset now, Func<string, string?>? accountName, CancellationToken cancellationToken)
    {
        var aggregate = new Aggregate(request, now, accountName);
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            aggregate.Add(row);
        }
        return aggregate.Build();
    }

    public static AnalyticsResult Compute(IEnumerable<RequestRecord> rows, AnalyticsRequest request, DateTimeOffset now, Func<string, string?>? accountName = null)
    {
        var aggregate = new Aggregate(request, now, accountName);
        foreach (var row in rows)
        {
            aggregate.Add(row);
        }
        return aggregate.Build();
    }

    /// <summary>
    /// True when <paramref name="store"/> aggregates itself and <paramref name="request"/> can be answered from its
    /// groups (every filter but the account-name filter is pushed into the store's query).
    /// </summary>
    public static bool CanAggregateIn(ICcflareStore store, AnalyticsRequest request, out ICcflareRequestAggregates aggregates)
    {
        aggregates = store.Capability<ICcflareRequestAggregates>()!;
        return aggregates is not null && request.Accounts.Count == 0;
    }

    /// <summary>The same result as <see cref="ComputeAsync(IAsyncEnumerable{RequestRecord}, AnalyticsRequest, DateTimeOffset, Func{string, string?}?, CancellationToken)"/>, from the store's groups.</summary>
    /// <remarks>
    /// A group without <see cref="RequestGroup.Provider"/> is attributed to its account's provider (<paramref name="accountProvider"/>),
    /// which is the route's provider for every request an account served.
    /// </remarks>
    public static async Task<AnalyticsResult> ComputeAsync(
        ICcflareRequestAggregates store, AnalyticsRequest request, DateTimeOffset now, Func<string, string?>? accountName, CancellationToken cancellationToken,
        Func<string, string?>? accountProvider = null)
    {
        var query = ToQuery(request, now);
        // The percentiles and the groups are two independent scans: let the database run them side by side.
        var percentiles = store.ResponseTimePercentilesAsync(query, 95, cancellationToken);
        var groups = new List<RequestGroup>();
        await foreach (var group in store.AggregateRequestsAsync(query, request.Range.Bucket, cancellationToken).ConfigureAwait(false))
        {
            groups.Add(group);
        }
        var aggregate = new Aggregate(request, now, accountName, percentiles: await percentiles.ConfigureAwait(false), accountProvider: accountProvider);
        foreach (var group in groups)
        {
            aggregate.Add(group);
        }
        return aggregate.Build();
    }

    /// <summary>Totals and top models over every row, for <c>/api/stats</c>, from the store's groups.</summary>
    public static async Task<(AnalyticsTotals Totals, IReadOnlyList<ModelCount> TopModels, IReadOnlyList<AccountPerformance> Accounts)> StatsAsync(
        ICcflareRequestAggregates store, Func<string, string?>? accountName, CancellationToken cancellationToken)
    {
        var request = new AnalyticsRequest { Range = new AnalyticsRange("all", TimeSpan.MaxValue, "1d", TimeSpan.FromDays(1)) };
        var aggregate = new Aggregate(request, DateTimeOffset.MaxValue, accountName, timeSeries: false, percentiles: new Dictionary<string, double>());
        await foreach (var group in store.AggregateRequestsAsync(new RequestQuery(), TimeSpan.Zero, cancellationToken).ConfigureAwait(false))
        {
            aggregate.Add(group);
        }
        var result = aggregate.Build();
        var top = result.ModelDistribution.Count > 10 ? result.ModelDistribution.Take(10).ToList() : result.ModelDistribution;
        return (result.Totals, top, result.AccountPerformance);
    }

    /// <summary>Totals and top models over every row, for <c>/api/stats</c>.</summary>
    public static async Task<(AnalyticsTotals Totals, IReadOnlyList<ModelCount> TopModels, IReadOnlyList<AccountPerformance> Accounts)> StatsAsync(
        IAsyncEnumerable<RequestRecord> rows, Func<string, string?>? accountName, CancellationToken cancellationToken)
    {
        var request = new AnalyticsRequest { Range = new AnalyticsRange("all", TimeSpan.MaxValue, "1d", TimeSpan.FromDays(1)) };
        var aggregate = new Aggregate(request, DateTimeOffset.MaxValue, accountName, timeSeries: false);
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            aggregate.Add(row);
        }
        var result = aggregate.Build();
        var top = result.ModelDistribution.Count > 10 ? result.ModelDistribution.Take(10).ToList() : result.ModelDistribution;
        return (result.Totals, top, result.AccountPerformance);
    }

    internal static double Round(double value) => Math.Round(value, 2, MidpointRounding.AwayFromZero);

    internal static double Percent(long part, long whole) => whole == 0 ? 0 : Round(part * 100.0 / whole);

    /// <summary>Nearest-rank percentile of an ascending list.</summary>
    internal static double Percentile(List<double> sortedAscending, double percentile)
    {
        if (sortedAscending.Count == 0)
        {
            return 0;
        }
        var rank = (int)Math.Ceiling(percentile / 100.0 * sortedAscending.Count);
        return sortedAscending[Math.Clamp(rank, 1, sortedAscending.Count) - 1];
    }

    private sealed class Stats
    {
        public long Requests;
        public long Successes;
        public long Tokens;
        public decimal Cost;
        public double ResponseSum;
        public long ResponseCount;
        public double TpsSum;
        public long TpsCount;
        public double TpsMin = double.MaxValue;
        public double TpsMax;
        public long Input;
        public long CacheRead;
        public long CacheCreation;
        public long Output;
        public List<double>? ResponseTimes;

        public void Add(RequestRecord r)
        {
            Requests++;
            if (r.Success)
            {
                Successes++;
            }
            Tokens += r.TotalTokens ?? 0;
            Cost += r.CostUsd ?? 0;
            if (r.ResponseTimeMs is { } ms)
            {
                ResponseSum += ms;
                ResponseCount++;
                ResponseTimes?.Add(ms);
            }
            if (r.OutputTokensPerSecond is > 0 and var tps)
            {
                TpsSum += tps;
                TpsCount++;
                TpsMin = Math.Min(TpsMin, tps);
                TpsMax = Math.Max(TpsMax, tps);
            }
            Input += r.InputTokens ?? 0;
            CacheRead += r.CacheReadInputTokens ?? 0;
            CacheCreation += r.CacheCreationInputTokens ?? 0;
            Output += r.OutputTokens ?? 0;
        }

        public void Add(RequestGroup g)
        {
            Requests += g.Requests;
            if (g.Success)
            {
                Successes += g.Requests;
            }
            Tokens += g.TotalTokens;
            Cost += g.CostUsd;
            ResponseSum += g.ResponseTimeSumMs;
            ResponseCount += g.ResponseTimeCount;
            if (g.TokensPerSecondCount > 0)
            {
                TpsSum += g.TokensPerSecondSum;
                TpsCount += g.TokensPerSecondCount;
                TpsMin = Math.Min(TpsMin, g.TokensPerSecondMin ?? double.MaxValue);
                TpsMax = Math.Max(TpsMax, g.TokensPerSecondMax ?? 0);
            }
            Input += g.InputTokens;
            CacheRead += g.CacheReadInputTokens;
            CacheCreation += g.CacheCreationInputTokens;
            Output += g.OutputTokens;
        }

        public double AvgResponse => ResponseCount == 0 ? 0 : Round(ResponseSum / ResponseCount);

        public double AvgTps => TpsCount == 0 ? 0 : Round(TpsSum / TpsCount);

        public double CacheHitRate => Percent(CacheRead, Input + CacheRead + CacheCreation);
    }

    private sealed class Aggregate(
        AnalyticsRequest request, DateTimeOffset now, Func<string, string?>? accountName, bool timeSeries = true,
        IReadOnlyDictionary<string, double>? percentiles = null, Func<string, string?>? accountProvider = null)
    {
        /// <summary>The provider of requests whose provider is not known (passthrough without an account, or a deleted account's groups).</summary>
        public const string UnknownProvider = "unknown";

        private readonly DateTimeOffset _from = request.Range.Length == TimeSpan.MaxValue ? DateTimeOffset.MinValue : now - request.Range.Length;
        private readonly long _bucketMs = (long)request.Range.Bucket.TotalMilliseconds;
        private readonly Stats _total = new();
        private readonly Dictionary<(long Bucket, string? Model), Stats> _buckets = [];
        private readonly Dictionary<string, Stats> _models = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Stats> _accounts = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Stats> _providers = new(StringComparer.Ordinal);
        private readonly HashSet<string> _activeAccounts = new(StringComparer.Ordinal);

        public void Add(RequestRecord r)
        {
            if (r.Timestamp < _from || !Matches(r))
            {
                return;
            }
            _total.Add(r);
            Get(_providers, r.Provider ?? UnknownProvider).Add(r);
            var name = NameOf(r);
            if (r.AccountUsed is not null || name is not null)
            {
                _activeAccounts.Add(r.AccountUsed ?? name!);
            }
            if (name is not null)
            {
                Get(_accounts, name).Add(r);
            }
            if (r.Model is not null)
            {
                var model = Get(_models, r.Model);
                model.ResponseTimes ??= [];
                model.Add(r);
            }
            if (timeSeries)
            {
                var bucket = Math.DivRem(r.Timestamp.ToUnixTimeMilliseconds(), _bucketMs, out var remainder);
                var start = (remainder < 0 ? bucket - 1 : bucket) * _bucketMs;
                var key = (start, request.ModelBreakdown ? r.Model ?? "unknown" : null);
                if (!_buckets.TryGetValue(key, out var stats))
                {
                    _buckets[key] = stats = new Stats();
                }
                stats.Add(r);
            }
        }

        /// <summary>A group from the store: the store applied the time range, models, users and status already.</summary>
        public void Add(RequestGroup g)
        {
            if (request.Models.Count > 0 && (g.Model is null || !request.Models.Contains(g.Model, StringComparer.Ordinal)))
            {
                return;
            }
            if ((request.Status == RequestStatusFilter.Success && !g.Success) || (request.Status == RequestStatusFilter.Error && g.Success))
            {
                return;
            }
            var provider = g.Provider ?? (g.AccountUsed is { } accountId && accountProvider is not null ? accountProvider(accountId) : null) ?? UnknownProvider;
            if (request.Providers.Count > 0 && !request.Providers.Contains(provider, StringComparer.Ordinal))
            {
                return;
            }
            _total.Add(g);
            Get(_providers, provider).Add(g);
            var name = g.AccountName ?? (g.AccountUsed is { } id && accountName is not null ? accountName(id) : null);
            if (g.AccountUsed is not null || name is not null)
            {
                _activeAccounts.Add(g.AccountUsed ?? name!);
            }
            if (name is not null)
            {
                Get(_accounts, name).Add(g);
            }
            if (g.Model is not null)
            {
                Get(_models, g.Model).Add(g);
            }
            if (timeSeries)
            {
                var key = (g.BucketStart.ToUnixTimeMilliseconds(), request.ModelBreakdown ? g.Model ?? "unknown" : null);
                if (!_buckets.TryGetValue(key, out var stats))
                {
                    _buckets[key] = stats = new Stats();
                }
                stats.Add(g);
            }
        }

        private string? NameOf(RequestRecord r) =>
            r.AccountName ?? (r.AccountUsed is { } id && accountName is not null ? accountName(id) : null);

        private bool Matches(RequestRecord r)
        {
            if (request.Accounts.Count > 0)
            {
                var name = NameOf(r);
                if (name is null || !request.Accounts.Contains(name, StringComparer.Ordinal))
                {
                    return false;
                }
            }
            if (request.Models.Count > 0 && (r.Model is null || !request.Models.Contains(r.Model, StringComparer.Ordinal)))
            {
                return false;
            }
            if (request.Providers.Count > 0 && (r.Provider is null || !request.Providers.Contains(r.Provider, StringComparer.Ordinal)))
            {
                return false;
            }
            if (request.Users.Count > 0 && (r.UserId is null || !request.Users.Contains(r.UserId, StringComparer.Ordinal)))
            {
                return false;
            }
            return request.Status switch
            {
                RequestStatusFilter.Success => r.Success,
                RequestStatusFilter.Error => !r.Success,
                _ => true,
            };
        }

        private static Stats Get(Dictionary<string, Stats> map, string key)
        {
            if (!map.TryGetValue(key, out var stats))
            {
                map[key] = stats = new Stats();
            }
            return stats;
        }

        public AnalyticsResult Build()
        {
            var totals = new AnalyticsTotals(
                _total.Requests, Percent(_total.Successes, _total.Requests), _activeAccounts.Count, _total.AvgResponse,
                _total.Tokens, _total.Cost, _total.AvgTps);

            var points = new List<TimeSeriesPoint>(_buckets.Count);
            var running = new Dictionary<string, (long Requests, long Tokens, decimal Cost)>(StringComparer.Ordinal);
            foreach (var ((bucket, model), s) in _buckets.OrderBy(b => b.Key.Bucket).ThenBy(b => b.Key.Model, StringComparer.Ordinal))
            {
                long requests = s.Requests, tokens = s.Tokens;
                var cost = s.Cost;
                if (request.Cumulative)
                {
                    var key = model ?? string.Empty;
                    var sums = running.GetValueOrDefault(key);
                    sums = (sums.Requests + requests, sums.Tokens + tokens, sums.Cost + cost);
                    running[key] = sums;
                    (requests, tokens, cost) = sums;
                }
                points.Add(new TimeSeriesPoint(
                    bucket, model, requests, tokens, cost, Percent(s.Successes, s.Requests), Percent(s.Requests - s.Successes, s.Requests),
                    s.CacheHitRate, s.AvgResponse, s.AvgTps));
            }

            var distribution = _models
                .OrderByDescending(m => m.Value.Requests).ThenBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new ModelCount(m.Key, m.Value.Requests)).ToList();
            var accounts = _accounts
                .OrderByDescending(a => a.Value.Requests).ThenBy(a => a.Key, StringComparer.Ordinal)
                .Select(a => new AccountPerformance(a.Key, a.Value.Requests, Percent(a.Value.Successes, a.Value.Requests))).ToList();
            var costs = _models
                .OrderByDescending(m => m.Value.Cost).ThenBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new ModelCost(m.Key, m.Value.Cost, m.Value.Requests, m.Value.Tokens)).ToList();
            var performance = _models
                .OrderByDescending(m => m.Value.Requests).ThenBy(m => m.Key, StringComparer.Ordinal)
                .Select(m =>
                {
                    var s = m.Value;
                    double p95;
                    if (percentiles is not null)
                    {
                        p95 = percentiles.GetValueOrDefault(m.Key);
                    }
                    else
                    {
                        s.ResponseTimes!.Sort();
                        p95 = Percentile(s.ResponseTimes, 95);
                    }
                    return new ModelPerformance(
                        m.Key, s.AvgResponse, Round(p95), Percent(s.Requests - s.Successes, s.Requests), s.AvgTps,
                        s.TpsCount == 0 ? 0 : Round(s.TpsMin), s.TpsCount == 0 ? 0 : Round(s.TpsMax));
                }).ToList();

            var providers = _providers
                .OrderByDescending(p => p.Value.Requests).ThenBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new ProviderPerformance(p.Key, p.Value.Requests, Percent(p.Value.Successes, p.Value.Requests), p.Value.Tokens, p.Value.Cost)).ToList();

            return new AnalyticsResult(
                new AnalyticsMeta(request.Range.Name, request.Range.BucketName, request.Cumulative, request.ModelBreakdown),
                totals,
                points,
                new TokenBreakdown(_total.Input, _total.CacheRead, _total.CacheCreation, _total.Output),
                distribution,
                accounts,
                costs,
                performance,
                providers);
        }
    }
}
