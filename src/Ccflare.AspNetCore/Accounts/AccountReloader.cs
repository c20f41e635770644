using Ccflare.Diagnostics;
using Ccflare.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Accounts;

/// <summary>
/// Reloads accounts from the store every <see cref="CcflareOptions.AccountReloadIntervalMs"/> and merges
/// them into the registry, so accounts added, removed, paused or renamed by another process sharing
/// the database (the CLI) take effect without a restart. In-memory counters are kept.
/// </summary>
internal sealed class AccountReloader(SecretProtectingStore store, AccountRegistry registry, IOptions<CcflareOptions> options, TimeProvider time, ILogger<AccountReloader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var intervalMs = options.Value.AccountReloadIntervalMs;
        if (intervalMs <= 0)
        {
            return;
        }
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(100, intervalMs)), time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await ReloadAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var stored = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
            var (added, removed, changed) = registry.Reconcile(stored);
            if (added + removed + changed > 0)
            {
                Log.AccountsReloaded(logger, added, removed, changed);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AccountReloadFailed(logger, ex);
        }
    }
}
