using Ccflare.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Retention;

/// <summary>What one retention pass removed.</summary>
internal sealed record RetentionResult(long RemovedRequests, long RemovedPayloads, DateTimeOffset RequestCutoff, DateTimeOffset PayloadCutoff);

/// <summary>
/// Applies retention: deletes payloads older than the payload retention and request rows
/// older than the request retention. Runs at start and then every
/// <see cref="CcflareOptions.RetentionIntervalMs"/> on the injected <see cref="TimeProvider"/>,
/// and on demand from <c>POST /api/maintenance/cleanup</c>.
/// </summary>
internal sealed class RetentionService(
    RetentionSettings settings,
    ICcflareStore store,
    TimeProvider time,
    IOptions<CcflareOptions> options,
    ILogger<RetentionService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _passes;

    /// <summary>Completed passes (for tests and diagnostics).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    public async Task<RetentionResult> ApplyAsync(CancellationToken cancellationToken)
    {
        await settings.EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow();
            var payloadCutoff = now.AddDays(-settings.PayloadDays);
            var requestCutoff = now.AddDays(-settings.RequestDays);
            var payloads = await store.DeletePayloadsAsync(payloadCutoff, cancellationToken).ConfigureAwait(false);
            var requests = await store.DeleteRequestsAsync(requestCutoff, cancellationToken).ConfigureAwait(false);
            if (payloads > 0 || requests > 0)
            {
                Log.RetentionApplied(logger, requests, requestCutoff, payloads, payloadCutoff);
            }
            Interlocked.Increment(ref _passes);
            return new RetentionResult(requests, payloads, requestCutoff, payloadCutoff);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.RetentionIntervalMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ApplyAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.RetentionFailed(logger, ex);
            }
            try
            {
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }
}
