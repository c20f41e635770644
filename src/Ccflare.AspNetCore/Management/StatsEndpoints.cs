using Ccflare.Accounts;
using Ccflare.Analytics;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Recording;
using Ccflare.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Ccflare.Management;

/// <summary><c>GET /api/stats</c>, <c>POST /api/stats/reset</c> and <c>GET /api/analytics</c>.</summary>
internal static class StatsEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/stats", async (HttpContext context, ICcflareStore store, AccountRegistry registry, RequestRecorder recorder, RequestWriter writer) =>
        {
            var (totals, top, accountStats) = store.Capability<ICcflareRequestAggregates>() is { } aggregates
                ? await AnalyticsCalculator.StatsAsync(aggregates, id => registry.Find(id)?.Name, context.RequestAborted).ConfigureAwait(false)
                : await AnalyticsCalculator.StatsAsync(
                    store.QueryRequestsAsync(new RequestQuery(), context.RequestAborted), id => registry.Find(id)?.Name, context.RequestAborted).ConfigureAwait(false);
            var active = 0;
            foreach (var account in registry.All)
            {
                if (account.RequestCount > 0)
                {
                    active++;
                }
            }
            var accounts = new List<AccountStats>(accountStats.Count);
            foreach (var account in accountStats)
            {
                accounts.Add(new AccountStats(account.Name, account.Requests, account.SuccessRate));
            }
            var recentErrors = await RecentErrorsAsync(store, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new StatsResponse(
                totals.TotalRequests, totals.SuccessRate, active, totals.AvgResponseTime, totals.TotalTokens, totals.TotalCostUsd,
                totals.AvgTokensPerSecond, top, accounts, recentErrors,
                new WriteQueueStats(recorder.Pending, recorder.InFlight, writer.Written, recorder.Dropped, recorder.DroppedPayloads, writer.Failed)), CcflareJson.Options);
        });

        // ccflare's reset: zero the accounts' request counters and sessions and clear request history.
        api.MapPost("/stats/reset", async (HttpContext context, AccountService accounts, ICcflareStore store, ILogger<AccountService> logger) =>
        {
            await accounts.ResetCountersAsync(context.RequestAborted).ConfigureAwait(false);
            var removed = await store.DeleteRequestsAsync(null, context.RequestAborted).ConfigureAwait(false);
            Log.StatsReset(logger, removed);
            return Results.Json(new { success = true, message = "Statistics reset", removedRequests = removed }, CcflareJson.Options);
        })
            .AddEndpointFilter(ManagementJson.RequireEmptyOrObjectBody);

        api.MapGet("/analytics", async (HttpContext context, ICcflareStore store, AccountRegistry registry, TimeProvider time) =>
        {
            var request = AnalyticsRequest.Parse(context.Request.Query, out var error);
            if (request is null)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, error!);
            }
            var now = time.GetUtcNow();
            AnalyticsResult result;
            if (AnalyticsCalculator.CanAggregateIn(store, request, out var aggregates))
            {
                result = await AnalyticsCalculator.ComputeAsync(aggregates, request, now, id => registry.Find(id)?.Name, context.RequestAborted,
                    id => registry.Find(id)?.Provider).ConfigureAwait(false);
            }
            else
            {
                var rows = store.QueryRequestsAsync(AnalyticsCalculator.ToQuery(request, now), context.RequestAborted);
                result = await AnalyticsCalculator.ComputeAsync(rows, request, now, id => registry.Find(id)?.Name, context.RequestAborted).ConfigureAwait(false);
            }
            return Results.Json(result, CcflareJson.Options);
        });

        api.MapGet("/analytics/by-user", async (HttpContext context, ICcflareStore store, AccessKeyService users, TimeProvider time) =>
        {
            if (!users.Enabled)
            {
                return JsonErrors.Result(StatusCodes.Status404NotFound, "Access keys are disabled; spending by user needs require_access_keys (Ccflare:RequireAccessKeys).");
            }
            var range = AnalyticsRange.FromQuery(AnalyticsRequest.Single(context.Request.Query, "range"), out var error);
            if (range is null)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, error!);
            }
            var spending = new Dictionary<string, (decimal Cost, long Requests)>(StringComparer.Ordinal);
            await foreach (var row in store.QueryRequestsAsync(new RequestQuery { From = time.GetUtcNow() - range.Length }, context.RequestAborted).ConfigureAwait(false))
            {
                if (row.UserId is { } userId)
                {
                    var sums = spending.GetValueOrDefault(userId);
                    spending[userId] = (sums.Cost + (row.CostUsd ?? 0), sums.Requests + 1);
                }
            }
            var list = new List<UserSpending>(spending.Count);
            foreach (var (userId, sums) in spending)
            {
                list.Add(new UserSpending(userId, users.NameOf(userId), sums.Cost, sums.Requests));
            }
            list.Sort(static (a, b) => b.CostUsd != a.CostUsd ? b.CostUsd.CompareTo(a.CostUsd) : b.RequestCount.CompareTo(a.RequestCount));
            return Results.Json(new SpendingByUser(range.Name, list), CcflareJson.Options);
        });
    }

    /// <summary>How many of the latest requests <c>recentErrors</c> looks at, and how many messages it lists.</summary>
    internal const int RecentErrorScan = 200;
    internal const int MaxRecentErrors = 10;

    /// <summary>The error messages of the latest failed requests, newest first (ccflare's System Status card).</summary>
    private static async Task<IReadOnlyList<string>> RecentErrorsAsync(ICcflareStore store, CancellationToken ct)
    {
        var recent = await store.GetRecentRequestsAsync(RecentErrorScan, includePayloads: false, ct).ConfigureAwait(false);
        var errors = new List<string>();
        foreach (var record in recent)
        {
            if (!record.Success && errors.Count < MaxRecentErrors)
            {
                errors.Add(record.ErrorMessage ?? $"HTTP {record.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "error"} on {record.Method} {record.Path}");
            }
        }
        return errors;
    }

    private sealed record StatsResponse(
        long TotalRequests, double SuccessRate, int ActiveAccounts, double AvgResponseTime, long TotalTokens, decimal TotalCostUsd,
        double AvgTokensPerSecond, IReadOnlyList<ModelCount> TopModels, IReadOnlyList<AccountStats> Accounts, IReadOnlyList<string> RecentErrors,
        WriteQueueStats WriteQueue);

    /// <summary>ccflare's per-account line of <c>/api/stats</c> (from the request history, by account name).</summary>
    private sealed record AccountStats(string Name, long RequestCount, double SuccessRate);

    /// <summary>ccflare's <c>GET /api/analytics/by-user</c>: cost and requests per access-key user over the range, untagged requests left out.</summary>
    private sealed record SpendingByUser(string Range, IReadOnlyList<UserSpending> Users);

    private sealed record UserSpending(string UserId, string? UserName, decimal CostUsd, long RequestCount);

    /// <summary>Ccflare's addition to <c>/api/stats</c>: the state of the history write path.</summary>
    private sealed record WriteQueueStats(int Pending, int InFlight, long Written, long DroppedRows, long DroppedPayloads, long FailedWrites);
}
