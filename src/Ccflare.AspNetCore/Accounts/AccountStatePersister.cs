using Ccflare.Security;
using System.Collections.Concurrent;
using Ccflare.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ccflare.Accounts;

/// <summary>
/// Writes account counters, sessions and rate-limit state changed by the proxy, coalesced,
/// off the request path. Flushes once more on shutdown.
/// </summary>
internal sealed class AccountStatePersister(SecretProtectingStore store, TimeProvider time, ILogger<AccountStatePersister> logger) : BackgroundService
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);
    private readonly ConcurrentDictionary<string, AccountState> _dirty = new(StringComparer.Ordinal);

    public void MarkDirty(AccountState account) => _dirty[account.Id] = account;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(FlushInterval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var id in _dirty.Keys)
        {
            if (!_dirty.TryRemove(id, out var state))
            {
                continue;
            }
            try
            {
                await store.UpdateAccountAsync(state.Snapshot, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.AccountStateWriteFailed(logger, state.Name, ex);
                _dirty.TryAdd(id, state);
            }
        }
    }
}
