using Ccflare.Diagnostics;
using Ccflare.Hosting;
using Ccflare.Retention;
using Ccflare.Security;
using Ccflare.Strategies;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Accounts;

/// <summary>
/// Reloads accounts from the store every <see cref="CcflareOptions.AccountReloadIntervalMs"/> and merges
/// them into the registry, so accounts added, removed, paused or renamed by another process sharing
/// the database (the CLI) take effect without a restart. In-memory counters are kept.
/// </summary>
/// <remarks>
/// When the store reports changes (<see cref="ICcflareStoreChangeFeed"/>: a database server that several
/// instances share), each notification triggers an immediate reload of what changed (accounts, runtime
/// settings, access-key users), and the periodic reload, now of all three, stays on as a backstop.
/// </remarks>
internal sealed class AccountReloader(
    ICcflareStore store,
    AccountStore accounts,
    AccountRegistry registry,
    StrategySelector strategies,
    RuntimeSettings settings,
    RetentionSettings retention,
    AccessKeyService keys,
    IOptions<CcflareOptions> options,
    TimeProvider time,
    ILogger<AccountReloader> logger) : BackgroundService
{
    private int _pending;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = store.Capability<ICcflareStoreChangeFeed>()?.Subscribe(OnStoreChanged);
        var shared = subscription is not null;
        var intervalMs = options.Value.AccountReloadIntervalMs;
        if (intervalMs <= 0 && !shared)
        {
            return;
        }
        using var timer = intervalMs > 0 ? new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(100, intervalMs)), time) : null;
        try
        {
            Task<bool>? tick = null;
            while (true)
            {
                var wake = Volatile.Read(ref _wake).Task;
                StoreChanges changes;
                if (timer is not null)
                {
                    tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                    if (await Task.WhenAny(tick, wake).ConfigureAwait(false) == tick)
                    {
                        if (!await tick.ConfigureAwait(false))
                        {
                            return;
                        }
                        tick = null;
                        await ReloadAsync(shared ? StoreChanges.All : StoreChanges.Accounts, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                }
                else
                {
                    await wake.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
                // Re-arm before reloading: a notification arriving during the reload triggers another.
                Volatile.Write(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                changes = (StoreChanges)Interlocked.Exchange(ref _pending, 0);
                await ReloadAsync(changes, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void OnStoreChanged(StoreChanges changes)
    {
        Interlocked.Or(ref _pending, (int)changes);
        Volatile.Read(ref _wake).TrySetResult();
    }

    public Task ReloadAsync(CancellationToken cancellationToken) => ReloadAsync(StoreChanges.Accounts, cancellationToken);

    /// <summary>Reloads what <paramref name="changes"/> names. Failures are logged; the next reload tries again.</summary>
    public async Task ReloadAsync(StoreChanges changes, CancellationToken cancellationToken)
    {
        try
        {
            if (changes.HasFlag(StoreChanges.Accounts))
            {
                var stored = await accounts.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
                var (added, removed, changed) = registry.Reconcile(stored);
                if (added + removed + changed > 0)
                {
                    Log.AccountsReloaded(logger, added, removed, changed);
                }
            }
            if (changes.HasFlag(StoreChanges.Settings))
            {
                var saved = await store.GetSettingsAsync(cancellationToken).ConfigureAwait(false);
                var before = strategies.Current.Name;
                CcflareInitializer.ApplySettings(saved, strategies, settings);
                retention.Apply(saved);
                if (!string.Equals(before, strategies.Current.Name, StringComparison.Ordinal))
                {
                    Log.StrategyReloaded(logger, strategies.Current.Name);
                }
            }
            if (changes.HasFlag(StoreChanges.Users) && keys.Enabled)
            {
                await keys.RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AccountReloadFailed(logger, ex);
        }
    }
}
