using System.Globalization;
using Ccflare.Accounts;
using Ccflare.Pricing;
using Ccflare.Recording.Journal;
using Ccflare.Strategies;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;

namespace Ccflare.Hosting;

/// <summary>Prepares the store and loads accounts and runtime settings before the server takes requests.</summary>
internal sealed class CcflareInitializer(
    ICcflareStore store,
    AccountStore accounts,
    AccountRegistry registry,
    StrategySelector strategies,
    RuntimeSettings settings,
    HistoryJournal journal,
    PriceTable prices,
    IOptions<CcflareOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        // Before accounts load: replaying a crashed run's journal may raise their counters.
        await journal.OpenAsync(store, accounts, prices, options.Value.WriteBatchSize, cancellationToken).ConfigureAwait(false);
        registry.Load(await accounts.GetAccountsAsync(cancellationToken).ConfigureAwait(false));

        ApplySettings(await store.GetSettingsAsync(cancellationToken).ConfigureAwait(false), strategies, settings);
    }

    /// <summary>Applies the stored runtime settings (strategy, session duration); unknown or invalid values are ignored.</summary>
    internal static void ApplySettings(IReadOnlyDictionary<string, string> saved, StrategySelector strategies, RuntimeSettings settings)
    {
        if (saved.TryGetValue(RuntimeSettings.StrategyKey, out var strategy))
        {
            strategies.TrySelect(strategy);
        }
        if (saved.TryGetValue(RuntimeSettings.SessionDurationKey, out var raw)
            && long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var duration) && duration > 0)
        {
            settings.SessionDurationMs = duration;
        }
    }

    /// <summary>Runs last on shutdown (first registered), after the history writer and the account persister stopped.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        journal.CloseAfterDrain();
        return Task.CompletedTask;
    }
}
