using Ccflare.Security;
using Ccflare.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ccflare.Accounts;

/// <summary>Result of an account change made through the management surface.</summary>
internal enum AccountChangeOutcome
{
    Done,
    NotFound,
    DuplicateName,
}

/// <summary>
/// Account changes made by operators (API, CLI, OAuth sign-in): written to the store first,
/// then published to the in-memory registry, so a failed write changes nothing.
/// </summary>
internal sealed class AccountService(AccountRegistry registry, AccountStatePersister persister, AccountStore store, TimeProvider time, ILogger<AccountService> logger)
{
    public async Task<(AccountChangeOutcome Outcome, Account? Account)> AddAsync(Account account, CancellationToken cancellationToken)
    {
        if (registry.FindByName(account.Name) is not null)
        {
            return (AccountChangeOutcome.DuplicateName, null);
        }
        var stored = account with { CreatedAt = account.CreatedAt == default ? time.GetUtcNow() : account.CreatedAt };
        if (!await store.AddAccountAsync(stored, cancellationToken).ConfigureAwait(false))
        {
            return (AccountChangeOutcome.DuplicateName, null);
        }
        registry.Add(stored);
        Log.AccountAdded(logger, stored.Name, stored.Provider);
        return (AccountChangeOutcome.Done, stored);
    }

    public async Task<(AccountChangeOutcome Outcome, Account? Account)> UpdateAsync(string id, Func<Account, Account> change, CancellationToken cancellationToken)
    {
        var state = registry.Find(id);
        if (state is null)
        {
            return (AccountChangeOutcome.NotFound, null);
        }
        await persister.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var updated = change(state.Snapshot);
            if (updated.Name != state.Name && registry.FindByName(updated.Name) is { } other && other.Id != id)
            {
                return (AccountChangeOutcome.DuplicateName, null);
            }
            // Write the pending proxy-side state too, so the row stays consistent.
            if (!await store.UpdateAccountAsync(updated, cancellationToken).ConfigureAwait(false))
            {
                return (AccountChangeOutcome.NotFound, null);
            }
            state.Replace(updated);
            return (AccountChangeOutcome.Done, updated);
        }
        finally
        {
            persister.WriteGate.Release();
        }
    }

    public async Task<(AccountChangeOutcome Outcome, Account? Account)> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var state = registry.Find(id);
        if (state is null)
        {
            return (AccountChangeOutcome.NotFound, null);
        }
        await store.DeleteAccountAsync(id, cancellationToken).ConfigureAwait(false);
        registry.Remove(id);
        Log.AccountRemoved(logger, state.Name);
        return (AccountChangeOutcome.Done, state.Snapshot);
    }

    /// <summary>Zeroes per-account request counts (statistics reset).</summary>
    public async Task ResetCountersAsync(CancellationToken cancellationToken)
    {
        foreach (var state in registry.All)
        {
            registry.Change(state, 0, static (a, _) => a with { RequestCount = 0, SessionRequestCount = 0, SessionStart = null });
        }
        await persister.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
