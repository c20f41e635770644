using System.Diagnostics;
using System.Text.Json.Serialization;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Retention;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Ccflare.Management;

/// <summary><c>GET|POST /api/config/retention</c>, <c>POST /api/maintenance/cleanup</c>, <c>POST /api/maintenance/compact</c>.</summary>
internal static class MaintenanceEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/config/retention", async (HttpContext context, RetentionSettings settings) =>
        {
            await settings.EnsureLoadedAsync(context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new RetentionBody { PayloadDays = settings.PayloadDays, RequestDays = settings.RequestDays }, CcflareJson.Options);
        });

        api.MapPost("/config/retention", async (HttpContext context, RetentionSettings settings, ILogger<RetentionService> logger) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<RetentionBody>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            await settings.EnsureLoadedAsync(context.RequestAborted).ConfigureAwait(false);
            if (body!.PayloadDays is null && body.RequestDays is null)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, "payloadDays or requestDays is required.");
            }
            var payloadDays = body.PayloadDays ?? settings.PayloadDays;
            var requestDays = body.RequestDays ?? settings.RequestDays;
            if (payloadDays is < 1 or > RetentionSettings.MaxDays)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, $"payloadDays must be an integer between 1 and {RetentionSettings.MaxDays}.", new { payloadDays });
            }
            if (requestDays is < 1 or > RetentionSettings.MaxDays)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, $"requestDays must be an integer between 1 and {RetentionSettings.MaxDays}.", new { requestDays });
            }
            await settings.SetAsync(payloadDays, requestDays, context.RequestAborted).ConfigureAwait(false);
            Log.RetentionChanged(logger, payloadDays, requestDays);
            return Results.Json(new RetentionBody { PayloadDays = payloadDays, RequestDays = requestDays }, CcflareJson.Options);
        });

        api.MapPost("/maintenance/cleanup", async (HttpContext context, RetentionService retention) =>
        {
            var result = await retention.ApplyAsync(context.RequestAborted).ConfigureAwait(false);
            // ccflare answers in a data envelope with one cutoff: the payload cutoff, the one its retention card shows.
            // Ccflare keeps its own top-level counts and both cutoffs beside it.
            return Results.Json(new
            {
                success = true,
                message = $"Removed {result.RemovedRequests} requests and {result.RemovedPayloads} payloads",
                data = new
                {
                    removedRequests = result.RemovedRequests,
                    removedPayloads = result.RemovedPayloads,
                    cutoffIso = result.PayloadCutoff.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                },
                removedRequests = result.RemovedRequests,
                removedPayloads = result.RemovedPayloads,
                requestCutoff = result.RequestCutoff,
                payloadCutoff = result.PayloadCutoff,
            }, CcflareJson.Options);
        })
            .AddEndpointFilter(ManagementJson.RequireEmptyOrObjectBody);

        api.MapPost("/maintenance/compact", async (HttpContext context, ICcflareStore store, ILogger<RetentionService> logger) =>
        {
            var started = Stopwatch.GetTimestamp();
            await store.CompactAsync(context.RequestAborted).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Log.StoreCompacted(logger, elapsed);
            return Results.Json(new { success = true, message = "Storage compacted", elapsedMs = Math.Round(elapsed, 2) }, CcflareJson.Options);
        })
            .AddEndpointFilter(ManagementJson.RequireEmptyOrObjectBody);
    }

    private sealed record RetentionBody
    {
        [JsonPropertyName("payloadDays")] public int? PayloadDays { get; init; }

        [JsonPropertyName("requestDays")] public int? RequestDays { get; init; }
    }
}
