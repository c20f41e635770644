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
        if (_dirty.IsEmpty)
        {
            return;
        }
        // Another process (the CLI) may have changed operator fields (paused, name, ...) since this
        // process loaded them: keep those from the stored row and write only what the proxy owns.
        Dictionary<string, Account>? storedById = null;
        try
        {
            var stored = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
            storedById = new Dictionary<string, Account>(stored.Count, StringComparer.Ordinal);
            foreach (var row in stored)
            {
                storedById[row.Id] = row;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AccountReloadFailed(logger, ex);
        }
        foreach (var id in _dirty.Keys)
        {
            if (!_dirty.TryRemove(id, out var state))
            {
                continue;
            }
            var snapshot = state.Snapshot;
            if (storedById is not null)
            {
                if (!storedById.TryGetValue(id, out var row))
                {
                    continue; // deleted elsewhere; the reloader drops it from the registry
                }
                snapshot = AccountRegistry.WithStoredFields(snapshot, row);
            }
            try
            {
                await store.UpdateAccountAsync(snapshot, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.AccountStateWriteFailed(logger, state.Name, ex);
                _dirty.TryAdd(id, state);
            }
        }
    }
}
