using Ccflare.Security;
using System.Collections.Concurrent;
using Ccflare.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ccflare.Accounts;

/// <summary>
/// Writes account counters, sessions and rate-limit state changed by the proxy, coalesced,
/// off the request path, every <see cref="FlushInterval"/>; an urgent change (a rate limit, a new
/// session) is written at once so instances sharing the store learn of it quickly. Flushes once
/// more on shutdown.
/// </summary>
internal sealed class AccountStatePersister(AccountStore store, TimeProvider time, ILogger<AccountStatePersister> logger) : BackgroundService
{
    internal static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);
    private readonly ConcurrentDictionary<string, AccountState> _dirty = new(StringComparer.Ordinal);
    private TaskCompletionSource _urgent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ConcurrentDictionary<string, byte> _fullWrite = new(StringComparer.Ordinal);

    /// <summary>
    /// Schedules the whole row for writing, credentials included (a refreshed token whose write failed);
    /// other changes write only the proxy's fields where the store can (<see cref="ICcflareAccountStateUpdates"/>).
    /// </summary>
    public void MarkFullWrite(AccountState account)
    {
        _fullWrite[account.Id] = 0;
        MarkDirty(account);
    }

    /// <summary>Schedules the account for writing: at the next tick, or at once when <paramref name="urgent"/>.</summary>
    public void MarkDirty(AccountState account, bool urgent = false)
    {
        _dirty[account.Id] = account;
        if (urgent)
        {
            Volatile.Read(ref _urgent).TrySetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(FlushInterval, time);
            Task<bool>? tick = null;
            while (true)
            {
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                var urgent = Volatile.Read(ref _urgent).Task;
                if (await Task.WhenAny(tick, urgent).ConfigureAwait(false) == tick)
                {
                    if (!await tick.ConfigureAwait(false))
                    {
                        return;
                    }
                    tick = null;
                }
                else
                {
                    // Re-arm before flushing: an urgent change made during the flush triggers another.
                    Volatile.Write(ref _urgent, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }
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

    /// <summary>
    /// Held while a flush reads and rewrites rows, and by <see cref="AccountService"/> while it writes an
    /// operator change, so a flush never puts back the operator fields it read before that change.
    /// </summary>
    internal SemaphoreSlim WriteGate { get; } = new(1, 1);

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_dirty.IsEmpty)
        {
            return;
        }
        await WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WriteGate.Release();
        }
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        // A store shared by several instances writes just the proxy's fields, atomically, with no read first.
        var partial = store.CanUpdateStateOnly;
        if (partial)
        {
            foreach (var id in _dirty.Keys)
            {
                if (_fullWrite.ContainsKey(id) || !_dirty.TryRemove(id, out var state))
                {
                    continue;
                }
                try
                {
                    await store.UpdateAccountStateAsync(state.Snapshot, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.AccountStateWriteFailed(logger, state.Name, ex);
                    _dirty.TryAdd(id, state);
                }
            }
            if (_dirty.IsEmpty)
            {
                return;
            }
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
            if ((partial && !_fullWrite.ContainsKey(id)) || !_dirty.TryRemove(id, out var state))
            {
                continue;
            }
            _fullWrite.TryRemove(id, out _);
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
                if (partial)
                {
                    _fullWrite.TryAdd(id, 0);
                }
                _dirty.TryAdd(id, state);
            }
        }
    }
}
