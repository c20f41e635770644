namespace Ccflare;

/// <summary>
/// Persistence for Ccflare. One implementation per database (SQLite, LiteDB, in-memory);
/// every implementation passes the same contract test suite.
/// </summary>
/// <remarks>Implementations must be safe for concurrent use. Ccflare never calls the store on the proxy's hot path.</remarks>
public interface ICcflareStore
{
    /// <summary>Creates or migrates the schema. Called once at start-up.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    // Accounts

    /// <summary>All accounts, ordered by creation time.</summary>
    Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken);

    /// <summary>Adds an account. Returns false when another account already has its name or id.</summary>
    Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken);

    /// <summary>Replaces an account row. Returns false when the id is unknown.</summary>
    Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken);

    /// <summary>Deletes an account. Returns false when the id is unknown.</summary>
    Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken);

    // Request history

    /// <summary>Writes a batch of request records (and their payloads) in one transaction.</summary>
    Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken);

    /// <summary>The most recent request records, newest first; payloads only when asked for.</summary>
    Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken);

    /// <summary>One request with its payload, or null.</summary>
    Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken);

    /// <summary>Request records matching <paramref name="query"/>, oldest first, without payloads.</summary>
    IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, CancellationToken cancellationToken);

    /// <summary>Deletes request records (and their payloads) older than <paramref name="olderThan"/>, or all when null. Returns how many.</summary>
    Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken);

    /// <summary>Deletes payloads of requests older than <paramref name="olderThan"/>, keeping the rows. Returns how many.</summary>
    Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);

    /// <summary>Reclaims free space (VACUUM, rebuild). May take a while.</summary>
    Task CompactAsync(CancellationToken cancellationToken);

    // Settings

    /// <summary>Runtime settings changed through the management API (strategy, session duration, retention, ...).</summary>
    Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken);

    /// <summary>Stores one runtime setting.</summary>
    Task SetSettingAsync(string key, string value, CancellationToken cancellationToken);

    // OAuth sign-in sessions

    /// <summary>Stores a pending OAuth sign-in.</summary>
    Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken);

    /// <summary>A pending OAuth sign-in, or null.</summary>
    Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a sign-in session. Returns false when it did not exist (so a session can be consumed once).</summary>
    Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes sessions that expired before <paramref name="now"/>. Returns how many.</summary>
    Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // Access-key users

    /// <summary>All access-key users, ordered by creation time.</summary>
    Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken);

    /// <summary>Adds a user. Returns false when the name or key hash is taken.</summary>
    Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken);

    /// <summary>Deletes a user. Returns false when the id is unknown.</summary>
    Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken);
}

/// <summary>Which request records <see cref="ICcflareStore.QueryRequestsAsync"/> returns. Empty lists mean "any".</summary>
public sealed record RequestQuery
{
    /// <summary>Inclusive lower bound of <see cref="RequestRecord.Timestamp"/>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive upper bound of <see cref="RequestRecord.Timestamp"/>.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Account ids (<see cref="RequestRecord.AccountUsed"/>) to include.</summary>
    public IReadOnlyList<string> AccountIds { get; init; } = [];

    /// <summary>Models to include.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>User ids to include.</summary>
    public IReadOnlyList<string> UserIds { get; init; } = [];

    /// <summary>Client session ids (<see cref="RequestRecord.ClientSessionId"/>) to include.</summary>
    public IReadOnlyList<string> ClientSessionIds { get; init; } = [];

    /// <summary>Success filter.</summary>
    public RequestStatusFilter Status { get; init; } = RequestStatusFilter.All;
}

/// <summary>Filter on <see cref="RequestRecord.Success"/>.</summary>
public enum RequestStatusFilter
{
    /// <summary>Every request.</summary>
    All,

    /// <summary>Only 2xx/3xx.</summary>
    Success,

    /// <summary>Only failures.</summary>
    Error,
}

/// <summary>A pending OAuth sign-in (ccflare's <c>auth_sessions</c>).</summary>
public sealed record AuthSession
{
    /// <summary>Session id.</summary>
    public required string Id { get; init; }

    /// <summary>Provider being signed in to.</summary>
    public required string Provider { get; init; }

    /// <summary>Always <c>oauth</c> today.</summary>
    public string AuthMethod { get; init; } = AccountAuthMethods.OAuth;

    /// <summary>Name of the account to create.</summary>
    public required string AccountName { get; init; }

    /// <summary>Flow state (PKCE verifier, state), JSON; encrypted by Ccflare before it reaches the store.</summary>
    public required string StateJson { get; init; }

    /// <summary>When the sign-in started.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the sign-in expires.</summary>
    public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>A user allowed to call the proxy with an access key (ccflare's <c>users</c>).</summary>
public sealed record AccessKeyUser
{
    /// <summary>User id.</summary>
    public required string Id { get; init; }

    /// <summary>Unique name.</summary>
    public required string Name { get; init; }

    /// <summary>Lower-case hex SHA-256 of the access key.</summary>
    public required string AccessKeyHash { get; init; }

    /// <summary>When the user was added.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}
