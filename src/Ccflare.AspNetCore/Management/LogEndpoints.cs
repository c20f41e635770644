using Ccflare.Http;
using Ccflare.Logging;
using Ccflare.Recording;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Management;

/// <summary><c>GET /api/logs/history</c> and <c>GET /api/logs/stream</c> (SSE), fed by the in-memory log buffer.</summary>
internal static class LogEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/logs/history", (HttpContext context, LogBuffer buffer) =>
        {
            if (!RequestEndpoints.TryReadLimit(context, LogBuffer.DefaultCapacity, out var limit, out var error))
            {
                return error!;
            }
            return Results.Json(buffer.Snapshot(limit), CcflareJson.Options);
        });

        api.MapGet("/logs/stream", async (HttpContext context, LogBuffer buffer, TimeProvider time) =>
        {
            using var subscription = buffer.Live.Subscribe();
            await ServerSentEvents.RunAsync(context, subscription.Reader, static e => e, ServerSentEvents.DefaultHeartbeat, time).ConfigureAwait(false);
        });
    }
}
