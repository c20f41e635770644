namespace Ccflare;

/// <summary>
/// Optional capability of an <see cref="ICcflareStore"/> that several Ccflare instances share (a
/// database server): it reports that accounts, settings or users changed, so every instance
/// reloads them at once instead of waiting for its periodic reload.
/// </summary>
/// <remarks>
/// Notifications may be coalesced or repeated and include this instance's own writes. When the
/// feed may have missed changes (a lost connection), it reports <see cref="StoreChanges.All"/>.
/// The periodic reload stays on as a backstop.
/// </remarks>
public interface ICcflareStoreChangeFeed
{
    /// <summary>
    /// Calls <paramref name="listener"/> on a background thread after each change. The listener must
    /// return quickly and must not throw. Dispose the result to stop listening.
    /// </summary>
    IDisposable Subscribe(Action<StoreChanges> listener);
}

/// <summary>What changed in the store (<see cref="ICcflareStoreChangeFeed"/>).</summary>
[Flags]
public enum StoreChanges
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Rows of <c>accounts</c>: added, removed, paused, rate limited, tokens refreshed, ...</summary>
    Accounts = 1,

    /// <summary>Runtime settings (strategy, session duration, retention).</summary>
    Settings = 2,

    /// <summary>Access-key users.</summary>
    Users = 4,

    /// <summary>Anything may have changed.</summary>
    All = Accounts | Settings | Users,
}

/// <summary>
/// Optional capability of an <see cref="ICcflareStore"/> that several Ccflare instances share: named
/// locks that exclude every instance using the same store. Ccflare holds one around an OAuth token
/// refresh, so only one replica spends a (rotating) refresh token.
/// </summary>
public interface ICcflareStoreLocks
{
    /// <summary>Waits until no other holder has <paramref name="key"/>, then takes it. Dispose the result to release it.</summary>
    Task<IAsyncDisposable> AcquireLockAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// Optional capability of an <see cref="ICcflareStore"/> that several Ccflare instances share: writes only
/// the fields the proxy changes, so an instance saving its counters never puts back operator fields
/// (paused, name, credentials) that another instance changed a moment before.
/// </summary>
public interface ICcflareAccountStateUpdates
{
    /// <summary>
    /// Writes <see cref="Account.RequestCount"/>, <see cref="Account.TotalRequests"/>, <see cref="Account.LastUsed"/>,
    /// <see cref="Account.SessionStart"/>, <see cref="Account.SessionRequestCount"/>, <see cref="Account.RateLimitedUntil"/>
    /// (never moving it back), <see cref="Account.RateLimitReset"/>, <see cref="Account.RateLimitStatus"/>,
    /// <see cref="Account.RateLimitRemaining"/> and <see cref="Account.Usage"/> of <paramref name="account"/>; every other column keeps its stored
    /// value. Returns false when the id is unknown.
    /// </summary>
    Task<bool> UpdateAccountStateAsync(Account account, CancellationToken cancellationToken);
}
