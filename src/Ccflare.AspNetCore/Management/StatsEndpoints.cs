using Ccflare.Accounts;
using Ccflare.Analytics;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Recording;
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
            var (totals, top) = store.Capability<ICcflareRequestAggregates>() is { } aggregates
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
            return Results.Json(new StatsResponse(
                totals.TotalRequests, totals.SuccessRate, active, totals.AvgResponseTime, totals.TotalTokens, totals.TotalCostUsd,
                totals.AvgTokensPerSecond, top,
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
                result = await AnalyticsCalculator.ComputeAsync(aggregates, request, now, id => registry.Find(id)?.Name, context.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                var rows = store.QueryRequestsAsync(AnalyticsCalculator.ToQuery(request, now), context.RequestAborted);
                result = await AnalyticsCalculator.ComputeAsync(rows, request, now, id => registry.Find(id)?.Name, context.RequestAborted).ConfigureAwait(false);
            }
            return Results.Json(result, CcflareJson.Options);
        });
    }

    private sealed record StatsResponse(
        long TotalRequests, double SuccessRate, int ActiveAccounts, double AvgResponseTime, long TotalTokens, decimal TotalCostUsd,
        double AvgTokensPerSecond, IReadOnlyList<ModelCount> TopModels, WriteQueueStats WriteQueue);

    /// <summary>Ccflare's addition to <c>/api/stats</c>: the state of the history write path.</summary>
    private sealed record WriteQueueStats(int Pending, int InFlight, long Written, long DroppedRows, long DroppedPayloads, long FailedWrites);
}
