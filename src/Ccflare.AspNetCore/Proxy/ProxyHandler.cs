using System.Diagnostics;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>
/// The native passthrough route (<c>/v1/{provider}/…</c>) and what every proxy route shares:
/// reading the body, starting the exchange and handing it to the failover loop.
/// </summary>
internal sealed class ProxyHandler(
    ProviderRegistry providers,
    FailoverLoop failover,
    RequestRecorder recorder,
    IOptions<CcflareOptions> options,
    TimeProvider time)
{
    /// <summary>
    /// Bodies up to this size are read into exact arrays that the stored payload keeps. Larger ones
    /// would be large-object-heap arrays on fresh pages (the page faults cost more than the copy):
    /// they are read into pooled, already resident buffers and copied by the background writer.
    /// </summary>
    internal const int ExactBodyMaxBytes = 64 * 1024;

    private readonly CcflareOptions _options = options.Value;

    public async Task HandleNativeAsync(HttpContext context)
    {
        var providerName = context.Request.RouteValues["provider"] as string ?? string.Empty;
        var provider = providers.Find(providerName);
        if (provider is null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status404NotFound,
                $"Unknown provider '{providerName}'. Known providers: {string.Join(", ", providers.Names)}.").ConfigureAwait(false);
            return;
        }

        var rest = context.Request.RouteValues["rest"] as string;
        if (string.IsNullOrEmpty(rest) && HttpMethods.IsHead(context.Request.Method))
        {
            // Claude Code probes its base URL at start-up; the answer is ours to give, not an account's.
            context.Response.StatusCode = StatusCodes.Status200OK;
            return;
        }
        var upstreamPath = string.IsNullOrEmpty(rest) ? string.Empty : "/" + rest;
        var pathError = ProxyPath.Validate(upstreamPath);
        if (pathError is not null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, pathError).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var exchange = StartExchange(context, provider.Name, upstreamPath);
        var adapter = body.Length > 0 ? provider.CreateNativeAdapter(upstreamPath, body.Memory) : null;
        await failover.ForwardAsync(context, exchange, new ForwardPlan([provider], upstreamPath, body) { Adapter = adapter }).ConfigureAwait(false);
    }

    /// <summary>Reads the body into pooled memory; writes 413 and returns null when it is too large.</summary>
    internal async ValueTask<RequestBodyBuffer?> ReadBodyAsync(HttpContext context)
    {
        var maxSize = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (maxSize is { IsReadOnly: false })
        {
            // Our own limit applies; Kestrel's would throw mid-read.
            maxSize.MaxRequestBodySize = null;
        }
        RequestBodyBuffer? body;
        try
        {
            // With payload capture the stored copy is this very buffer, so read into an exact-size array the record can keep.
            var exact = _options.CapturePayloads && context.Request.ContentLength <= ExactBodyMaxBytes;
            body = await RequestBodyBuffer.ReadAsync(context.Request.Body, context.Request.ContentLength, _options.MaxRequestBodyBytes, context.RequestAborted, exact).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException or OperationCanceledException)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body could not be read.").ConfigureAwait(false);
            }
            return null;
        }
        if (body is null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                $"Request body exceeds the limit of {_options.MaxRequestBodyBytes} bytes.", new { limitBytes = _options.MaxRequestBodyBytes }).ConfigureAwait(false);
        }
        return body;
    }

    internal ProxyExchange StartExchange(HttpContext context, string provider, string upstreamPath)
    {
        var now = time.GetUtcNow();
        var storedQuery = PayloadMasking.MaskQuery(context.Request.QueryString.Value);
        var exchange = new ProxyExchange
        {
            // Time-ordered ids: history rows are appended to the end of the primary-key index instead of scattered through it.
            Id = Guid.CreateVersion7(now).ToString(),
            Timestamp = now,
            Method = context.Request.Method,
            Path = context.Request.Path.Value + storedQuery,
            StartTimestamp = Stopwatch.GetTimestamp(),
            Provider = provider,
            UpstreamPath = upstreamPath + storedQuery,
            UserId = context.Items.TryGetValue(ProxyContextKeys.UserId, out var user) ? user as string : null,
            ClientSessionId = RecordBuilder.ReadClientSessionId(context.Request.Headers),
            Activity = CcflareMetrics.ActivitySource.StartActivity("ccflare.proxy", ActivityKind.Internal),
        };
        exchange.Activity?.SetTag("ccflare.provider", provider);
        recorder.Started(exchange);
        return exchange;
    }

    /// <summary>Tries the plan's accounts in strategy order until one answers usefully.</summary>
    internal Task ForwardAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan) => failover.ForwardAsync(context, exchange, plan);
}
