using System.Collections.Frozen;
using System.Security.Cryptography;
using Ccflare.Diagnostics;
using Ccflare.Management;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Security;

/// <summary>Outcome of <see cref="AccessKeyService.CreateUserAsync"/>. <see cref="Key"/> is shown once and never stored.</summary>
internal sealed record AccessKeyCreation(AccessKeyUser? User, string? Key, string? Error, bool Duplicate)
{
    public bool Succeeded => User is not null && Key is not null;
}

/// <summary>
/// Access-key users: creation (the key is returned once; only its SHA-256 is stored), listing,
/// removal, and authentication of proxy requests against an in-memory snapshot, so the
/// proxy never touches the store per request. The snapshot is rebuilt after every change made
/// through this service, at start-up, and (at most every <see cref="MissRefreshInterval"/>) when
/// an unknown key arrives, so users added by the CLI of another process appear without a restart.
/// </summary>
internal sealed class AccessKeyService(ICcflareStore store, IOptions<CcflareOptions> options, TimeProvider time, ILogger<AccessKeyService> logger)
{
    public static readonly TimeSpan MissRefreshInterval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private Snapshot _snapshot = Snapshot.Empty;
    private long _lastRefreshTimestamp = long.MinValue;

    public bool Enabled => options.Value.RequireAccessKeys;

    /// <summary>Reloads the users from the store.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RefreshCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    private async Task RefreshCoreAsync(CancellationToken cancellationToken)
    {
        var users = await store.GetUsersAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _snapshot, Snapshot.From(users));
        Volatile.Write(ref _lastRefreshTimestamp, time.GetTimestamp());
    }

    /// <summary>
    /// Reloads after an unknown key, at most once per <see cref="MissRefreshInterval"/>. Returns
    /// true when a reload happened (the caller may try the key again).
    /// </summary>
    public async ValueTask<bool> RefreshAfterMissAsync(CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _lastRefreshTimestamp);
        if (last != long.MinValue && time.GetElapsedTime(last) < MissRefreshInterval)
        {
            return false;
        }
        if (!await _refreshGate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            // Another request is reloading; do not queue behind it.
            return false;
        }
        try
        {
            last = Volatile.Read(ref _lastRefreshTimestamp);
            if (last != long.MinValue && time.GetElapsedTime(last) < MissRefreshInterval)
            {
                return false;
            }
            await RefreshCoreAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Volatile.Write(ref _lastRefreshTimestamp, time.GetTimestamp());
            Log.UsersRefreshFailed(logger, ex);
            return false;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <summary>
    /// The user owning <paramref name="key"/>, or null. Compares SHA-256 digests with
    /// <see cref="CryptographicOperations.FixedTimeEquals"/> against every user, without an early exit.
    /// </summary>
    public AccessKeyUser? Authenticate(string? key)
    {
        if (key is null || !AccessKeys.IsWellFormed(key))
        {
            return null;
        }
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        AccessKeys.HashInto(key, presented);
        AccessKeyUser? match = null;
        var entries = Volatile.Read(ref _snapshot).Entries;
        for (var i = 0; i < entries.Length; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(entries[i].Hash, presented))
            {
                match = entries[i].User;
            }
        }
        return match;
    }

    /// <summary>Name of a user id from the snapshot (for request history), or null.</summary>
    public string? NameOf(string? userId) =>
        userId is not null && Volatile.Read(ref _snapshot).Names.TryGetValue(userId, out var name) ? name : null;

    /// <summary>All users, from the store.</summary>
    public Task<IReadOnlyList<AccessKeyUser>> ListAsync(CancellationToken cancellationToken = default) =>
        store.GetUsersAsync(cancellationToken);

    /// <summary>Creates a user and its key. The key is in the result and nowhere else.</summary>
    public async Task<AccessKeyCreation> CreateUserAsync(string? name, CancellationToken cancellationToken = default)
    {
        if (AccountRules.ValidateName(name) is { } problem)
        {
            return new AccessKeyCreation(null, null, problem, Duplicate: false);
        }
        var key = AccessKeys.Generate();
        var user = new AccessKeyUser
        {
            Id = Guid.NewGuid().ToString(),
            Name = name!,
            AccessKeyHash = AccessKeys.Hash(key),
            CreatedAt = time.GetUtcNow(),
        };
        if (!await store.AddUserAsync(user, cancellationToken).ConfigureAwait(false))
        {
            return new AccessKeyCreation(null, null, $"A user named '{name}' already exists.", Duplicate: true);
        }
        Log.UserAdded(logger, user.Name);
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new AccessKeyCreation(user, key, null, Duplicate: false);
    }

    /// <summary>Deletes a user; its key stops working at once. Returns the removed user, or null when unknown.</summary>
    public async Task<AccessKeyUser?> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var users = await store.GetUsersAsync(cancellationToken).ConfigureAwait(false);
        AccessKeyUser? user = null;
        foreach (var candidate in users)
        {
            if (candidate.Id == id)
            {
                user = candidate;
            }
        }
        if (user is null || !await store.DeleteUserAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        Log.UserRemoved(logger, user.Name);
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return user;
    }

    private sealed record Entry(byte[] Hash, AccessKeyUser User);

    private sealed record Snapshot(Entry[] Entries, FrozenDictionary<string, string> Names)
    {
        public static readonly Snapshot Empty = new([], FrozenDictionary<string, string>.Empty);

        public static Snapshot From(IReadOnlyList<AccessKeyUser> users)
        {
            var entries = new List<Entry>(users.Count);
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var user in users)
            {
                names[user.Id] = user.Name;
                if (user.AccessKeyHash.Length == SHA256.HashSizeInBytes * 2)
                {
                    try
                    {
                        entries.Add(new Entry(Convert.FromHexString(user.AccessKeyHash), user));
                    }
                    catch (FormatException)
                    {
                        // A malformed hash can never match; skip it.
                    }
                }
            }
            return new Snapshot([.. entries], names.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}

/// <summary>Loads the access-key users once the store is ready (registered after the initializer).</summary>
internal sealed class AccessKeyLoader(AccessKeyService keys, ILogger<AccessKeyService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!keys.Enabled)
        {
            return;
        }
        await keys.RefreshAsync(cancellationToken).ConfigureAwait(false);
        Log.UsersLoaded(logger, (await keys.ListAsync(cancellationToken).ConfigureAwait(false)).Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
