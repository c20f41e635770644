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
    /// <summary>ccflare's log stream opens with this unnamed message before the first line.</summary>
    public const string ConnectedMessage = "data: {\"connected\":true}\n\n";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/logs/history", (HttpContext context, LogBuffer buffer) =>
        {
            if (!RequestEndpoints.TryReadLimit(context, LogBuffer.DefaultCapacity, out var limit, out var error))
            {
                return error!;
            }
            var entries = buffer.Snapshot(limit);
            var lines = new LogLine[entries.Count];
            for (var i = 0; i < lines.Length; i++)
            {
                lines[i] = LogLine.From(entries[i]);
            }
            return Results.Json(lines, CcflareJson.Options);
        });

        api.MapGet("/logs/stream", async (HttpContext context, LogBuffer buffer, TimeProvider time) =>
        {
            using var subscription = buffer.Live.Subscribe();
            await ServerSentEvents.RunAsync(context, subscription.Reader, static e => LogLine.From(e), ServerSentEvents.DefaultHeartbeat, time,
                opening: ConnectedMessage).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// A log line in ccflare's shape <c>{ts (epoch ms), level, msg}</c>, with Ccflare's <c>timestamp</c> (ISO 8601),
    /// <c>component</c> and <c>metadata</c> beside it.
    /// </summary>
    internal sealed record LogLine(long Ts, string Level, string Msg, DateTimeOffset Timestamp, string Component, IReadOnlyDictionary<string, string?>? Metadata)
    {
        public static LogLine From(LogEntry e) => new(e.Timestamp.ToUnixTimeMilliseconds(), e.Level, e.Message, e.Timestamp, e.Component, e.Metadata);
    }
}
