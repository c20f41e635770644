using Ccflare.Providers;

namespace Ccflare.Accounts;

/// <summary>
/// The in-process source of truth for accounts. Reads on the proxy path are lock-free
/// (immutable per-provider arrays); changes made by the proxy are persisted in the
/// background by <see cref="AccountStatePersister"/>.
/// </summary>
internal sealed class AccountRegistry
{
    private readonly Lock _gate = new();
    private Dictionary<string, AccountState> _byId = new(StringComparer.Ordinal);
    private Dictionary<string, AccountState[]> _byProvider = new(StringComparer.Ordinal);
    private AccountState[] _all = [];
    private readonly AccountStatePersister _persister;

    public AccountRegistry(AccountStatePersister persister)
    {
        _persister = persister;
    }

    public IReadOnlyList<AccountState> All => Volatile.Read(ref _all);

    public AccountState? Find(string id) => Volatile.Read(ref _byId).GetValueOrDefault(id);

    public AccountState? FindByName(string name)
    {
        foreach (var state in Volatile.Read(ref _all))
        {
            if (string.Equals(state.Name, name, StringComparison.Ordinal))
            {
                return state;
            }
        }
        return null;
    }

    public ReadOnlySpan<AccountState> ForProvider(string provider) =>
        Volatile.Read(ref _byProvider).TryGetValue(provider, out var states) ? states : [];

    /// <summary>Copies the accounts of <paramref name="provider"/> that are usable now into <paramref name="destination"/>.</summary>
    public void CollectAvailable(string provider, DateTimeOffset now, List<AccountState> destination)
    {
        foreach (var state in ForProvider(provider))
        {
            if (state.IsAvailable(now))
            {
                destination.Add(state);
            }
        }
    }

    public void Load(IReadOnlyList<Account> accounts)
    {
        lock (_gate)
        {
            var byId = new Dictionary<string, AccountState>(StringComparer.Ordinal);
            foreach (var account in accounts)
            {
                if (_byId.TryGetValue(account.Id, out var existing))
                {
                    existing.Replace(account);
                    byId[account.Id] = existing;
                }
                else
                {
                    byId[account.Id] = new AccountState(account);
                }
            }
            Publish(byId);
        }
    }

    public AccountState Add(Account account)
    {
        lock (_gate)
        {
            var state = new AccountState(account);
            var byId = new Dictionary<string, AccountState>(_byId, StringComparer.Ordinal) { [account.Id] = state };
            Publish(byId);
            return state;
        }
    }

    public bool Remove(string id)
    {
        lock (_gate)
        {
            if (!_byId.ContainsKey(id))
            {
                return false;
            }
            var byId = new Dictionary<string, AccountState>(_byId, StringComparer.Ordinal);
            byId.Remove(id);
            Publish(byId);
            return true;
        }
    }

    /// <summary>Applies a change made on the proxy path and schedules it for persistence.</summary>
    public void Change<TState>(AccountState account, TState state, Func<Account, TState, Account> change)
    {
        account.Update(state, change);
        _persister.MarkDirty(account);
    }

    private void Publish(Dictionary<string, AccountState> byId)
    {
        var all = new List<AccountState>(byId.Values);
        all.Sort(static (a, b) =>
        {
            var byCreated = a.CreatedAt.CompareTo(b.CreatedAt);
            return byCreated != 0 ? byCreated : string.CompareOrdinal(a.Name, b.Name);
        });
        var byProvider = new Dictionary<string, AccountState[]>(StringComparer.Ordinal);
        foreach (var name in ProviderCatalog.Names)
        {
            byProvider[name] = all.Where(s => s.Provider == name).ToArray();
        }
        _byId = byId;
        Volatile.Write(ref _all, all.ToArray());
        Volatile.Write(ref _byProvider, byProvider);
    }
}
