using System.Diagnostics;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Hosting;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Recording;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>
/// Tries the accounts the strategy ordered, one attempt each, until one answers usefully; while
/// nothing has reached the client an attempt can still give way to the next account. Always ends
/// with a record of the request.
/// </summary>
internal sealed class FailoverLoop(
    AccountRegistry registry,
    StrategySelector strategies,
    CandidateOrdering ordering,
    RuntimeSettings settings,
    ProviderRegistry providers,
    ProxyAttempt attempt,
    RequestRecorder recorder,
    IOptions<CcflareOptions> options,
    TimeProvider time,
    CcflareMetrics metrics,
    ILogger<ProxyHandler> logger)
{
    private readonly bool _passthroughWhenNoAccounts = options.Value.PassthroughWhenNoAccounts;

    public async Task ForwardAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan)
    {
        var candidates = new List<AccountState>(8);
        // The writer reads the model from the body and may store it; it returns the buffer to the pool.
        exchange.RequestBodyOwner = plan.Body;
        try
        {
            // Inside the guard: a host-supplied strategy that throws must still produce a JSON error and a record.
            CollectCandidates(context, exchange, plan, candidates);
            if (candidates.Count == 0)
            {
                await AnswerWithoutAccountsAsync(context, exchange, plan).ConfigureAwait(false);
                return;
            }
            for (var i = 0; i < candidates.Count; i++)
            {
                var account = candidates[i];
                // Candidates come only from registered providers, so the lookup cannot miss.
                var provider = providers.Find(account.Provider)!;
                if (await attempt.TryAsync(context, exchange, plan, provider, account, isLast: i == candidates.Count - 1).ConfigureAwait(false))
                {
                    return;
                }
                if (context.RequestAborted.IsCancellationRequested)
                {
                    break;
                }
                exchange.FailoverAttempts++;
                metrics.Failovers.Add(1);
            }
            await AnswerAllFailedAsync(context, exchange, candidates.Count).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            MarkCancelled(exchange);
        }
        catch (Exception ex)
        {
            await AnswerProxyFailureAsync(context, exchange, ex).ConfigureAwait(false);
        }
        finally
        {
            await CompleteAsync(exchange, plan).ConfigureAwait(false);
        }
    }

    private void CollectCandidates(HttpContext context, ProxyExchange exchange, ForwardPlan plan, List<AccountState> candidates)
    {
        var now = time.GetUtcNow();
        var lbContext = new LoadBalancingContext(context, plan.Providers[0].Name, now, settings.SessionDuration);
        var strategy = strategies.Current;
        var model = new RequestModel(exchange.Model, plan.Body.Span);
        if (plan.Providers.Count == 1)
        {
            registry.CollectAvailable(plan.Providers[0].Name, now, candidates);
            var switched = ordering.Order(strategy, lbContext, candidates, ref model);
            RecordSelection(candidates, now, switched, lbContext.Provider);
            return;
        }
        var scratch = new List<AccountState>(8);
        foreach (var provider in plan.Providers)
        {
            scratch.Clear();
            registry.CollectAvailable(provider.Name, now, scratch);
            var switched = ordering.Order(strategy, lbContext with { Provider = provider.Name }, scratch, ref model);
            RecordSelection(scratch, now, switched, provider.Name);
            candidates.AddRange(scratch);
        }
    }

    private void RecordSelection(List<AccountState> ordered, DateTimeOffset now, bool preemptiveSwitch, string provider)
    {
        if (ordered.Count > 0)
        {
            registry.RecordSelection(ordered[0], now, settings.SessionDuration);
        }
        if (preemptiveSwitch)
        {
            metrics.PreemptiveSwitches.Add(1, new KeyValuePair<string, object?>("provider", provider));
        }
    }

    private async Task AnswerWithoutAccountsAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan)
    {
        if (_passthroughWhenNoAccounts && HasNoAccounts(plan.Providers))
        {
            await attempt.TryAsync(context, exchange, plan, plan.Providers[0], account: null, isLast: true).ConfigureAwait(false);
            return;
        }
        Log.NoAccountAvailable(logger, plan.Providers[0].Name, exchange.Path);
        exchange.StatusCode = StatusCodes.Status503ServiceUnavailable;
        exchange.ErrorMessage = "No account available";
        await JsonErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            $"No {string.Join(" or ", plan.Providers.Select(p => p.Name))} account is available: all are paused, rate limited or missing.",
            new { provider = plan.Providers[0].Name }).ConfigureAwait(false);
    }

    private bool HasNoAccounts(IReadOnlyList<UpstreamProvider> candidates)
    {
        foreach (var provider in candidates)
        {
            if (!registry.ForProvider(provider.Name).IsEmpty)
            {
                return false;
            }
        }
        return true;
    }

    private static async Task AnswerAllFailedAsync(HttpContext context, ProxyExchange exchange, int attempted)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            MarkCancelled(exchange);
            return;
        }
        exchange.StatusCode = StatusCodes.Status502BadGateway;
        exchange.ErrorMessage ??= "All accounts failed";
        await JsonErrors.WriteAsync(context, StatusCodes.Status502BadGateway,
            "Every available account failed to reach the upstream.", new { accountsAttempted = attempted }).ConfigureAwait(false);
    }

    private async Task AnswerProxyFailureAsync(HttpContext context, ProxyExchange exchange, Exception ex)
    {
        Log.ProxyFailed(logger, exchange.Path, ex);
        exchange.ErrorMessage = "Internal proxy error: " + ex.GetType().Name;
        if (context.Response.HasStarted)
        {
            // Part of the upstream answer is already out; cutting the connection is the only honest signal left.
            exchange.StatusCode ??= StatusCodes.Status500InternalServerError;
            context.Abort();
            return;
        }
        exchange.StatusCode = StatusCodes.Status500InternalServerError;
        await JsonErrors.WriteAsync(context, StatusCodes.Status500InternalServerError,
            "Ccflare failed while proxying this request; the server log has the details.", new { requestId = exchange.Id }).ConfigureAwait(false);
    }

    private static void MarkCancelled(ProxyExchange exchange)
    {
        exchange.StatusCode = 499;
        exchange.ErrorMessage = "Client closed the request";
    }

    /// <summary>Timing, metrics and trace tags, then the record (the writer returns the pooled body).</summary>
    private async Task CompleteAsync(ProxyExchange exchange, ForwardPlan plan)
    {
        exchange.ResponseTimeMs = Stopwatch.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds;
        if (metrics.Requests.Enabled)
        {
            metrics.Requests.Add(1, new KeyValuePair<string, object?>("provider", exchange.Provider), new KeyValuePair<string, object?>("status_code", BoxedStatus.Get(exchange.StatusCode)),
                new KeyValuePair<string, object?>("ccflare.account", exchange.Account?.Name));
        }
        if (exchange.Activity is { } activity)
        {
            activity.SetTag("http.response.status_code", BoxedStatus.Get(exchange.StatusCode));
            activity.SetTag("ccflare.account", exchange.Account?.Name);
            activity.SetTag("ccflare.failover_attempts", exchange.FailoverAttempts);
            activity.SetStatus(exchange.StatusCode is >= 200 and < 400 ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
            activity.Dispose();
        }
        await recorder.CompletedAsync(exchange).ConfigureAwait(false);
    }
}
