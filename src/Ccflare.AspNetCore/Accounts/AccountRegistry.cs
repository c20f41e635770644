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

    /// <summary>
    /// Merges the stored accounts into the registry (changes made by another process, such as the CLI
    /// or another instance sharing the store): adds new accounts, drops deleted ones, takes
    /// operator-owned fields (name, base URL, weight, paused, credentials, token status) from the
    /// store and the later of the two rate-limit blocks and sessions (<see cref="WithReplicatedState"/>),
    /// while keeping the in-memory counters. Returns how many accounts were added, removed and had
    /// operator-owned fields changed.
    /// </summary>
    public (int Added, int Removed, int Changed) Reconcile(IReadOnlyList<Account> stored)
    {
        lock (_gate)
        {
            int added = 0, changed = 0;
            var byId = new Dictionary<string, AccountState>(StringComparer.Ordinal);
            foreach (var account in stored)
            {
                if (_byId.TryGetValue(account.Id, out var existing))
                {
                    var current = existing.Snapshot;
                    var merged = WithStoredFields(current, account);
                    if (merged != current)
                    {
                        changed++;
                    }
                    if (WithReplicatedState(merged, account) != current)
                    {
                        existing.Update(account, static (a, stored) => WithReplicatedState(WithStoredFields(a, stored), stored));
                    }
                    if (WithReplicatedState(account, existing.Snapshot) != account)
                    {
                        // This instance knows of a later rate limit or session than the row (another instance's
                        // write replaced it): write it back so every instance converges on it.
                        _persister.MarkDirty(existing, urgent: true);
                    }
                    byId[account.Id] = existing;
                }
                else
                {
                    byId[account.Id] = new AccountState(account);
                    added++;
                }
            }
            var removed = 0;
            foreach (var id in _byId.Keys)
            {
                if (!byId.ContainsKey(id))
                {
                    removed++;
                }
            }
            if (added > 0 || removed > 0 || changed > 0)
            {
                Publish(byId);
            }
            return (added, removed, changed);
        }
    }

    /// <summary>
    /// <paramref name="live"/> with the operator-owned fields of <paramref name="stored"/>: the store is
    /// authoritative for name, auth method, base URL, weight, priority, paused and credentials (operators and the CLI
    /// write it first), memory for counters, session and rate-limit state. Credentials stay as in memory
    /// when memory holds a fresher token (a refresh whose write has not reached the store yet).
    /// </summary>
    public static Account WithStoredFields(Account live, Account stored)
    {
        var merged = live with
        {
            Name = stored.Name,
            AuthMethod = stored.AuthMethod,
            BaseUrl = stored.BaseUrl,
            Weight = stored.Weight,
            Priority = stored.Priority,
            Paused = stored.Paused,
        };
        if (live.ExpiresAt is { } liveExpiry && (stored.ExpiresAt is null || liveExpiry > stored.ExpiresAt))
        {
            return merged;
        }
        return merged with
        {
            ApiKey = stored.ApiKey,
            AccessToken = stored.AccessToken,
            RefreshToken = stored.RefreshToken,
            ExpiresAt = stored.ExpiresAt,
            TokenStatus = stored.TokenStatus,
            TokenStatusReason = stored.TokenStatusReason,
        };
    }

    /// <summary>
    /// <paramref name="live"/> with the proxy-side state of <paramref name="stored"/> where the stored one is
    /// later: a rate-limit block that ends later, a session that started later (with its request count),
    /// a newer rate-limit report or usage reading. Instances sharing a store thereby honour each other's rate limits and
    /// stick to one session; both values only move forward, so instances converge whatever the order.
    /// </summary>
    public static Account WithReplicatedState(Account live, Account stored)
    {
        var merged = live;
        if (stored.RateLimitedUntil is { } storedUntil && (live.RateLimitedUntil is not { } liveUntil || storedUntil > liveUntil))
        {
            merged = merged with { RateLimitedUntil = storedUntil };
        }
        if (stored.SessionStart is { } storedStart && (live.SessionStart is not { } liveStart || storedStart > liveStart))
        {
            merged = merged with { SessionStart = storedStart, SessionRequestCount = stored.SessionRequestCount };
        }
        if (stored.RateLimitReset is { } storedReset && (live.RateLimitReset is not { } liveReset || storedReset > liveReset))
        {
            merged = merged with { RateLimitReset = storedReset, RateLimitStatus = stored.RateLimitStatus, RateLimitRemaining = stored.RateLimitRemaining };
        }
        if (stored.Usage is { } storedUsage && (live.Usage is not { } liveUsage || storedUsage.UpdatedAt > liveUsage.UpdatedAt))
        {
            merged = merged with { Usage = storedUsage };
        }
        return merged;
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

    /// <summary>
    /// Applies a change made on the proxy path and schedules it for persistence; an <paramref name="urgent"/>
    /// change (a rate limit, a new session) is written at once so other instances learn of it quickly.
    /// </summary>
    public void Change<TState>(AccountState account, TState state, Func<Account, TState, Account> change, bool urgent = false)
    {
        account.Update(state, change);
        _persister.MarkDirty(account, urgent);
    }

    /// <summary>
    /// Records the strategy's choice for a request: the first account of the ordered candidates starts a session
    /// when it has none active (written at once, so instances sharing the store stick to the same account).
    /// Strategies only order accounts; this is where the sessions they read come from.
    /// </summary>
    public void RecordSelection(AccountState selected, DateTimeOffset now, TimeSpan sessionDuration)
    {
        if (!selected.HasActiveSession(now, sessionDuration))
        {
            Change(selected, now, static (a, now) => a with { SessionStart = now, SessionRequestCount = 0 }, urgent: true);
        }
    }

    /// <summary>Records that <paramref name="account"/> served a request: its counters, its session's count and when it was last used.</summary>
    public void RecordServed(AccountState account, DateTimeOffset now) =>
        Change(account, now, static (a, now) => a with
        {
            RequestCount = a.RequestCount + 1,
            TotalRequests = a.TotalRequests + 1,
            SessionRequestCount = a.SessionRequestCount + 1,
            LastUsed = now,
        });

    /// <summary>
    /// Records usage windows read apart from a response (the usage endpoint), combined with the known
    /// ones the way a response's are (<see cref="AccountUsage.Combine"/>); false when the account is gone.
    /// </summary>
    public bool RecordUsage(AccountState account, AccountUsage usage)
    {
        if (!ReferenceEquals(Find(account.Id), account))
        {
            return false;
        }
        Change(account, usage, static (a, u) => a with { Usage = AccountUsage.Combine(a.Usage, u) });
        return true;
    }

    /// <summary>
    /// Applies a change of operator-owned fields (credentials) that could not be written to the store
    /// at once, and schedules the whole row for writing.
    /// </summary>
    public void ChangeStoredFields(AccountState account, Func<Account, Account> change)
    {
        account.Update(change, static (a, c) => c(a));
        _persister.MarkFullWrite(account);
    }

    private void Publish(Dictionary<string, AccountState> byId)
    {
        var all = new List<AccountState>(byId.Values);
        all.Sort(static (a, b) =>
        {
            var byCreated = a.CreatedAt.CompareTo(b.CreatedAt);
            return byCreated != 0 ? byCreated : string.CompareOrdinal(a.Name, b.Name);
        });
        // Grouped by whatever provider an account names: one whose provider is no longer configured
        // stays listed, and is never a candidate since candidates come from registered providers only.
        var byProvider = all.GroupBy(s => s.Provider, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        _byId = byId;
        Volatile.Write(ref _all, all.ToArray());
        Volatile.Write(ref _byProvider, byProvider);
    }
}
