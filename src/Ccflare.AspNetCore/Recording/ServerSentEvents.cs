using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Ccflare.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Ccflare.Recording;

/// <summary>Writes a live SSE response from a subscription until the client disconnects.</summary>
internal static class ServerSentEvents
{
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(15);

    /// <summary>The default opening: a named <c>connected</c> event, which ccflare's readers (listening to unnamed messages) skip.</summary>
    public const string ConnectedEvent = "event: connected\ndata: {\"type\":\"connected\"}\n\n";

    /// <summary>
    /// Sends <paramref name="opening"/> (by default <see cref="ConnectedEvent"/>) once the subscriber is registered, then each item as <c>data: {json}</c> (after the optional
    /// <paramref name="backlog"/>), and a <c>: heartbeat</c> comment whenever nothing was sent for
    /// <paramref name="heartbeat"/>. Returns when the client goes away or the application stops (an open
    /// dashboard must not hold up a graceful shutdown until its timeout); the caller disposes the subscription.
    /// </summary>
    public static async Task RunAsync<T>(HttpContext context, ChannelReader<T> reader, Func<T, object> shape, TimeSpan heartbeat, TimeProvider time, IEnumerable<T>? backlog = null, string opening = ConnectedEvent)
    {
        var response = context.Response;
        var stopping = context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = linked.Token;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await response.WriteAsync(opening, ct).ConfigureAwait(false);
            if (backlog is not null)
            {
                foreach (var item in backlog)
                {
                    await WriteItemAsync(response, shape(item), ct).ConfigureAwait(false);
                }
            }
            await response.Body.FlushAsync(ct).ConfigureAwait(false);

            Task<bool>? pending = null;
            while (!ct.IsCancellationRequested)
            {
                pending ??= reader.WaitToReadAsync(ct).AsTask();
                using (var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    var delay = Task.Delay(heartbeat, time, delayCancel.Token);
                    var finished = await Task.WhenAny(pending, delay).ConfigureAwait(false);
                    await delayCancel.CancelAsync().ConfigureAwait(false);
                    if (finished != pending)
                    {
                        await response.WriteAsync(": heartbeat\n\n", ct).ConfigureAwait(false);
                        await response.Body.FlushAsync(ct).ConfigureAwait(false);
                        continue;
                    }
                }
                if (!await pending.ConfigureAwait(false))
                {
                    return; // Publisher completed (unsubscribed).
                }
                pending = null;
                while (reader.TryRead(out var item))
                {
                    await WriteItemAsync(response, shape(item), ct).ConfigureAwait(false);
                }
                await response.Body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // Client went away mid-write.
        }
    }

    private static Task WriteItemAsync(HttpResponse response, object value, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(value, CcflareJson.Options);
        return response.WriteAsync(string.Concat("data: ", json, "\n\n"), Encoding.UTF8, ct);
    }
}
