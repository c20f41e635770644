using System.Buffers;
using System.Diagnostics;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>Streams an upstream body to the client chunk by chunk (translated when asked), teeing a capped copy for the history.</summary>
internal sealed class ResponseBodyCopier(IOptions<CcflareOptions> options, ILogger<ProxyHandler> logger, Recording.RequestRecorder recorder)
{
    private const int CopyBufferSize = 16 * 1024;
    private readonly CcflareOptions _options = options.Value;

    public async Task CopyAsync(HttpContext context, ProxyExchange exchange, HttpResponseMessage response, IResponseTranslator? translator)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        var tee = new CaptureTee(response.Content.Headers.ContentLength, _options.StreamBodyMaxBytes,
            _options.CapturePayloads ? ProxyHandler.ExactBodyMaxBytes : CaptureTee.SmallCaptureBytes);
        var bodyStart = Stopwatch.GetTimestamp();
        var firstChunk = true;
        // A body of announced length is complete for the client with its last chunk, before the handler returns.
        var unsentAnnounced = translator is null ? response.Content.Headers.ContentLength : null;
        try
        {
            // The connection's content stream is available synchronously; the async variant only adds a Task.
            var upstream = response.Content.ReadAsStream(context.RequestAborted);
            if (exchange.IsStreaming)
            {
                // The client sees the status and headers before the first event, however long that takes
                // (StartAsync alone only commits them). Other responses send them with the first chunk of
                // the body: one write instead of two.
                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            while (true)
            {
                int read;
                var readStart = Stopwatch.GetTimestamp();
                try
                {
                    read = await upstream.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
                {
                    await FailStreamAsync(context, exchange, ex).ConfigureAwait(false);
                    return;
                }
                exchange.UpstreamWaitTicks += Stopwatch.GetTimestamp() - readStart;
                if (read == 0)
                {
                    break;
                }
                if (firstChunk)
                {
                    firstChunk = false;
                    exchange.FirstByteToClientMs = Stopwatch.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds;
                }
                tee.Append(buffer.AsSpan(0, read));
                if (unsentAnnounced is { } unsent && (unsentAnnounced = unsent - read) <= 0)
                {
                    tee.HandTo(exchange);
                    recorder.Acknowledge(exchange);
                }
                await WriteAsync(context, exchange, buffer.AsMemory(0, read), translator).ConfigureAwait(false);
            }
            if (translator is not null)
            {
                await translator.CompleteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            }
            exchange.StreamingDurationMs = Stopwatch.GetElapsedTime(bodyStart).TotalMilliseconds;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            tee.HandTo(exchange);
        }
    }

    private static ValueTask WriteAsync(HttpContext context, ProxyExchange exchange, ReadOnlyMemory<byte> chunk, IResponseTranslator? translator)
    {
        // Response buffering is off for streams: each write goes out at once, no flush needed.
        return translator is null
            ? context.Response.Body.WriteAsync(chunk, context.RequestAborted)
            : WriteTranslatedAsync(context, exchange, chunk, translator);
    }

    private static async ValueTask WriteTranslatedAsync(HttpContext context, ProxyExchange exchange, ReadOnlyMemory<byte> chunk, IResponseTranslator translator)
    {
        await translator.WriteAsync(chunk, context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        if (exchange.IsStreaming)
        {
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task FailStreamAsync(HttpContext context, ProxyExchange exchange, Exception ex)
    {
        Log.UpstreamStreamFailed(logger, exchange.Account?.Name ?? "(none)", ex);
        exchange.ErrorMessage = "Upstream stream failed";
        exchange.StatusCode = StatusCodes.Status502BadGateway;
        if (!context.Response.HasStarted)
        {
            // Nothing reached the client yet: it can still get a clean error instead of the upstream's headers.
            context.Response.Clear();
            await JsonErrors.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream response failed before its body arrived.").ConfigureAwait(false);
            return;
        }
        // The status is already sent: abort so the client sees a broken stream, not a clean end.
        context.Abort();
    }
}
