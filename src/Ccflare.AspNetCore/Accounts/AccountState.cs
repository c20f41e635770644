namespace Ccflare;

/// <summary>
/// The live, read-only view of an account that strategies order: identity, weight, counters, session and
/// rate-limit state. It carries no credential and no way to reach one; Ccflare updates it as requests complete.
/// </summary>
public sealed class AccountState
{
    private readonly Lock _gate = new();
    private Account _account;

    internal AccountState(Account account)
    {
        _account = account;
    }

    /// <summary>Account id.</summary>
    public string Id => _account.Id;

    /// <summary>Account name.</summary>
    public string Name => _account.Name;

    /// <summary>Provider name.</summary>
    public string Provider => _account.Provider;

    /// <summary>Weight for weighted strategies (at least 1).</summary>
    public int Weight => Math.Max(1, _account.Weight);

    /// <summary>Priority level; lower is preferred (0 by default).</summary>
    public int Priority => _account.Priority;

    /// <summary>The usage windows as last reported, or null.</summary>
    public AccountUsage? Usage => _account.Usage;

    /// <summary>Requests since the last statistics reset.</summary>
    public long RequestCount => _account.RequestCount;

    /// <summary>Lifetime requests.</summary>
    public long TotalRequests => _account.TotalRequests;

    /// <summary>When the account last served a request.</summary>
    public DateTimeOffset? LastUsed => _account.LastUsed;

    /// <summary>When the account was added.</summary>
    public DateTimeOffset CreatedAt => _account.CreatedAt;

    /// <summary>Start of the current sticky session.</summary>
    public DateTimeOffset? SessionStart => _account.SessionStart;

    /// <summary>Requests in the current session.</summary>
    public long SessionRequestCount => _account.SessionRequestCount;

    /// <summary>Whether the account is paused.</summary>
    public bool Paused => _account.Paused;

    /// <summary>The account is skipped until this instant.</summary>
    public DateTimeOffset? RateLimitedUntil => _account.RateLimitedUntil;

    /// <summary>Rate-limit status the provider last reported (for example <c>allowed</c>, <c>allowed_warning</c>, <c>rate_limited</c>).</summary>
    public string? RateLimitStatus => _account.RateLimitStatus;

    /// <summary>Requests left in the provider's current window, as last reported.</summary>
    public long? RateLimitRemaining => _account.RateLimitRemaining;

    /// <summary>When the provider's current rate-limit window resets, as last reported.</summary>
    public DateTimeOffset? RateLimitReset => _account.RateLimitReset;

    /// <summary>True when the account's session started less than <paramref name="duration"/> before <paramref name="now"/>.</summary>
    public bool HasActiveSession(DateTimeOffset now, TimeSpan duration) =>
        Volatile.Read(ref _account).SessionStart is { } start && now - start < duration;

    /// <summary>A consistent copy of the stored fields, credentials included; never handed to strategies.</summary>
    internal Account Snapshot => Volatile.Read(ref _account);

    /// <summary>True when the account can take a request at <paramref name="now"/>.</summary>
    public bool IsAvailable(DateTimeOffset now)
    {
        var account = Volatile.Read(ref _account);
        return !account.Paused
            && (account.RateLimitedUntil is null || account.RateLimitedUntil <= now)
            && account.TokenStatus is null;
    }

    /// <summary>Applies a change atomically and returns the new snapshot.</summary>
    internal Account Update<TState>(TState state, Func<Account, TState, Account> change)
    {
        lock (_gate)
        {
            var updated = change(_account, state);
            Volatile.Write(ref _account, updated);
            return updated;
        }
    }

    internal void Replace(Account account)
    {
        lock (_gate)
        {
            Volatile.Write(ref _account, account);
        }
    }
}
