using System.Diagnostics;
using Ccflare.Diagnostics;
using Ccflare.Providers;
using Ccflare.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ccflare.Proxy;

/// <summary>
/// One upstream attempt: builds the request for a provider and account (path, body, the client
/// headers that cross, the credential) and sends it; the response comes back as soon as its
/// headers arrive. It never reads the response body and never retries.
/// </summary>
internal sealed class UpstreamForwarder(IHttpMessageHandlerFactory handlerFactory, HeaderPolicy headerPolicy, ILogger<ProxyHandler> logger)
{
    // An invoker over the factory's handler chain, not HttpClient: the body is never buffered and no per-call
    // client is created. The chain's resilience pipeline applies UpstreamTimeoutMs and the account's circuit breaker.
    private readonly HttpMessageInvoker _upstream = UpstreamClient.CreateInvoker(handlerFactory);
    private readonly UpstreamUris _uris = new();

    /// <summary>
    /// The upstream request. <paramref name="adaptedPath"/> is the path and query sent when an
    /// adapter chose them (null when the plan's path went as is), for the history.
    /// </summary>
    public HttpRequestMessage CreateRequest(HttpContext context, ForwardPlan plan, UpstreamProvider provider, AccountState? account, string? secret, out string? adaptedPath)
    {
        var adapted = plan.Adapter?.PrepareRequest(provider);
        var path = adapted?.UpstreamPath ?? plan.UpstreamPath;
        var query = adapted is { ForwardQuery: false } ? QueryString.Empty : context.Request.QueryString;
        adaptedPath = adapted is null ? null : path + PayloadMasking.MaskQuery(query.Value);
        var snapshot = account?.Snapshot;
        var request = new UpstreamRequest(HttpMethod.Parse(context.Request.Method), _uris.Get(snapshot?.BaseUrl ?? provider.BaseUrl, path, query))
        {
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
        };
        if (adapted is { } adaptedRequest)
        {
            request.Content = new UpstreamBodyContent(adaptedRequest.Body);
        }
        else if (plan.Body.Length > 0 || HttpMethods.IsPost(context.Request.Method) || HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsPatch(context.Request.Method))
        {
            request.Content = plan.Body.CreateContent();
        }
        HeaderRules.CopyRequestHeaders(context.Request.Headers, request, provider, headerPolicy);
        Security.HopMarker.Add(request, context.Request.Protocol);
        plan.Adapter?.PrepareHeaders(provider, request);
        if (snapshot is not null && secret is not null)
        {
            provider.ApplyCredential(request, snapshot, secret);
            request.AccountId = account!.Id;
        }
        return request;
    }

    /// <summary>
    /// Sends the request and completes when the response headers arrive. Not an async method of its
    /// own: the attempt awaits the send directly, so forwarding adds no state machine per request.
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _upstream.SendAsync(request, cancellationToken);

    /// <summary>True for the failures that mean "this upstream could not answer" (the next account may).</summary>
    public static bool IsUpstreamFailure(Exception ex, CancellationToken requestAborted) =>
        ex is HttpRequestException or Polly.ExecutionRejectedException || (ex is OperationCanceledException && !requestAborted.IsCancellationRequested);

    /// <summary>Records an upstream that could not be reached.</summary>
    public void RecordFailure(ProxyExchange exchange, Exception ex, long sendStart, string provider, string? account)
    {
        exchange.UpstreamWaitTicks += Stopwatch.GetTimestamp() - sendStart;
        exchange.ErrorMessage = ex switch
        {
            Polly.CircuitBreaker.BrokenCircuitException => "Account circuit open after repeated upstream failures",
            Polly.Timeout.TimeoutRejectedException or OperationCanceledException => "Upstream timed out",
            _ => "Upstream unreachable",
        };
        Log.UpstreamUnreachable(logger, provider, account ?? "(none)", ex);
    }

    /// <summary>Records the wait for the response headers.</summary>
    public static void RecordHeaders(ProxyExchange exchange, long sendStart)
    {
        var headersAt = Stopwatch.GetTimestamp();
        exchange.UpstreamWaitTicks += headersAt - sendStart;
        exchange.UpstreamTtfbMs = Stopwatch.GetElapsedTime(sendStart, headersAt).TotalMilliseconds;
    }
}
