using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Ccflare.Proxy;

/// <summary>
/// The resilience pipeline on the upstream client: an attempt timeout and a circuit breaker, one
/// pipeline instance per account so one failing account never trips the others. No retry strategy:
/// retrying is the failover loop's job, so no request reaches the same account twice.
/// </summary>
/// <remarks>
/// The pipelines are Polly's, run by a handler of our own rather than Microsoft.Extensions.Http.Resilience's
/// <c>ResilienceHandler</c>: that one wraps each call in a pipeline registry lookup, execution tracking,
/// telemetry events and a property bag holding the request, about 1.3 KB of allocations and four more
/// state machines per request, for features (reload, named telemetry) the proxy does not use.
/// </remarks>
internal static class UpstreamResilience
{
    public static void AddTo(IHttpClientBuilder client) =>
        client.AddHttpMessageHandler(static services => new AccountResilienceHandler(
            services.GetRequiredService<IOptions<CcflareOptions>>().Value,
            services.GetService<TimeProvider>() ?? TimeProvider.System));

    internal static ResiliencePipeline<HttpResponseMessage> Build(CcflareOptions options, TimeProvider time)
    {
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        var breaker = options.CircuitBreaker;
        if (breaker.Enabled)
        {
            pipeline.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = TimeSpan.FromMilliseconds(breaker.SamplingDurationMs),
                BreakDuration = TimeSpan.FromMilliseconds(breaker.BreakDurationMs),
                ShouldHandle = static args => ValueTask.FromResult(IsAccountFailure(args.Outcome)),
            });
        }
        // Inside the breaker, so timeouts count as failures. It covers the wait for response headers;
        // a stream that has started is never cut by it.
        pipeline.AddTimeout(TimeSpan.FromMilliseconds(options.UpstreamTimeoutMs));
        return pipeline.Build();
    }

    private static bool IsAccountFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || (outcome.Result is { } response && (int)response.StatusCode >= 500);
}

/// <summary>An upstream request and the account it is sent for, which keys its resilience pipeline.</summary>
internal sealed class UpstreamRequest(HttpMethod method, Uri uri) : HttpRequestMessage(method, uri)
{
    /// <summary>The account's id; null when no account is used (passthrough).</summary>
    public string? AccountId { get; set; }
}

/// <summary>Sends each request through the resilience pipeline of its account.</summary>
internal sealed class AccountResilienceHandler(CcflareOptions options, TimeProvider time) : DelegatingHandler
{
    private const string NoAccount = "";
    private readonly CcflareOptions _options = options;
    private readonly TimeProvider _time = time;
    private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _pipelines = new(StringComparer.Ordinal);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request is UpstreamRequest { AccountId: { } id } ? id : NoAccount;
        if (!_pipelines.TryGetValue(key, out var pipeline))
        {
            pipeline = _pipelines.GetOrAdd(key, static (_, handler) => UpstreamResilience.Build(handler._options, handler._time), this);
        }
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            return await pipeline.ExecuteAsync(
                static (context, state) => new ValueTask<HttpResponseMessage>(state.Handler.SendInnerAsync(state.Request, context.CancellationToken)),
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Task<HttpResponseMessage> SendInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);
}
