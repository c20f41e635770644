using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
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
internal static class UpstreamResilience
{
    public const string PipelineName = "Ccflare.Upstream";

    /// <summary>Set on every upstream request: the account id that keys its pipeline.</summary>
    public static readonly HttpRequestOptionsKey<string> AccountKey = new("Ccflare.Account");

    private const string NoAccount = "(passthrough)";

    public static void AddTo(IHttpClientBuilder client) =>
        client.AddResilienceHandler(PipelineName, Configure)
            .SelectPipelineBy(static _ => static request => request.Options.TryGetValue(AccountKey, out var id) ? id : NoAccount);

    private static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, ResilienceHandlerContext context)
    {
        var options = context.ServiceProvider.GetRequiredService<IOptions<CcflareOptions>>().Value;
        pipeline.TimeProvider = context.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
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
    }

    private static bool IsAccountFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || (outcome.Result is { } response && (int)response.StatusCode >= 500);
}
