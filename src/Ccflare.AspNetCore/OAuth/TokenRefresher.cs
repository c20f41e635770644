using System.Collections.Concurrent;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.OAuth;

/// <summary>Values of <see cref="Account.TokenStatus"/> set by the refresher.</summary>
internal static class TokenStatuses
{
    /// <summary>The token expired and there is no refresh token to renew it.</summary>
    public const string Expired = "expired";

    /// <summary>The token endpoint refused the refresh token.</summary>
    public const string RefreshFailed = "refresh_failed";
}

/// <summary>
/// Refreshes OAuth access tokens, one call per account at a time: concurrent callers for the
/// same account share a single in-flight refresh. New tokens are written to the store first,
/// then published to the registry; the old refresh token is kept when the server returns none.
/// A refused refresh marks the account (<c>refresh_failed</c> or <c>expired</c>) so strategies skip it.
/// When the store is shared by several instances (<see cref="ICcflareStoreLocks"/>), the refresh also
/// holds the store's lock for the account and first re-reads the row: a token another instance
/// refreshed meanwhile is used as is, so a rotating refresh token is spent once.
/// </summary>
internal sealed class TokenRefresher(
    OAuthProviders providers,
    OAuthTokenClient tokens,
    AccountService accounts,
    AccountRegistry registry,
    ICcflareStore store,
    AccountStore accountStore,
    IOptionsMonitor<CcflareOptions> options,
    TimeProvider time,
    ILogger<TokenRefresher> logger)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<string?>>> _inFlight = new(StringComparer.Ordinal);

    public TimeSpan Margin => TimeSpan.FromMilliseconds(Math.Max(0, options.CurrentValue.TokenRefreshMarginMs));

    /// <summary>True when the token is missing or expires within the refresh margin.</summary>
    public bool NeedsRefresh(Account account, DateTimeOffset now) =>
        string.IsNullOrEmpty(account.AccessToken) || (account.ExpiresAt is { } expires && expires - Margin <= now);

    /// <summary>Refreshes the account's token (joining a refresh already in flight). Returns the usable access token or null.</summary>
    /// <param name="account">The account.</param>
    /// <param name="lookAhead">Refresh tokens that expire within the margin of <c>now + lookAhead</c> (the background pass looks ahead).</param>
    public Task<string?> RefreshAsync(AccountState account, TimeSpan lookAhead = default)
    {
        var lazy = _inFlight.GetOrAdd(account.Id, static (_, arg) => new Lazy<Task<string?>>(() => arg.Self.RunAsync(arg.Account, arg.LookAhead)), (Self: this, Account: account, LookAhead: lookAhead));
        return lazy.Value;
    }

    private async Task<string?> RunAsync(AccountState account, TimeSpan lookAhead)
    {
        try
        {
            await Task.Yield();
            return await RefreshCoreAsync(account, lookAhead).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(account.Id, out _);
        }
    }

    private async Task<string?> RefreshCoreAsync(AccountState account, TimeSpan lookAhead)
    {
        if (store.Capability<ICcflareStoreLocks>() is not { } locks || account.Snapshot.AuthMethod != AccountAuthMethods.OAuth
            || string.IsNullOrEmpty(account.Snapshot.RefreshToken))
        {
            return await RefreshUnlockedAsync(account, lookAhead).ConfigureAwait(false);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        IAsyncDisposable held;
        try
        {
            held = await locks.AcquireLockAsync("oauth-refresh:" + account.Id, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Without the lock another instance might spend the same refresh token: defer, as for a transient failure.
            var snapshot = account.Snapshot;
            Log.TokenRefreshDeferred(logger, snapshot.Name, "the store's refresh lock is unavailable: " + ex.Message);
            var now = time.GetUtcNow();
            return snapshot.TokenStatus is null && !string.IsNullOrEmpty(snapshot.AccessToken) && (snapshot.ExpiresAt is not { } exp || exp > now)
                ? snapshot.AccessToken
                : null;
        }
        await using (held.ConfigureAwait(false))
        {
            // Another instance may have refreshed while this one waited: adopt its tokens from the row.
            foreach (var row in await accountStore.GetAccountsAsync(timeout.Token).ConfigureAwait(false))
            {
                var refreshedThere = row.ExpiresAt is { } stored && (account.Snapshot.ExpiresAt is not { } live || stored > live);
                var refusedThere = row.TokenStatus is not null && account.Snapshot.TokenStatus is null;
                if (row.Id == account.Id && (refreshedThere || refusedThere) && row.TokenStatus != AccountStore.DecryptFailedStatus)
                {
                    account.Update(row, static (a, r) => a with
                    {
                        AccessToken = r.AccessToken,
                        RefreshToken = r.RefreshToken,
                        ExpiresAt = r.ExpiresAt,
                        TokenStatus = r.TokenStatus,
                        TokenStatusReason = r.TokenStatusReason,
                    });
                    Log.TokenRefreshedElsewhere(logger, row.Name);
                }
            }
            return await RefreshUnlockedAsync(account, lookAhead).ConfigureAwait(false);
        }
    }

    private async Task<string?> RefreshUnlockedAsync(AccountState account, TimeSpan lookAhead)
    {
        var snapshot = account.Snapshot;
        var now = time.GetUtcNow();
        if (snapshot.TokenStatus is not null)
        {
            return null;
        }
        if (!NeedsRefresh(snapshot, now + lookAhead))
        {
            return snapshot.AccessToken;
        }
        var stillValid = !string.IsNullOrEmpty(snapshot.AccessToken) && (snapshot.ExpiresAt is not { } exp || exp > now);
        if (string.IsNullOrEmpty(snapshot.RefreshToken))
        {
            if (stillValid)
            {
                return snapshot.AccessToken;
            }
            await MarkAsync(account, TokenStatuses.Expired, "The access token expired and the account has no refresh token; sign in again.").ConfigureAwait(false);
            return null;
        }
        if (providers.Find(snapshot.Provider) is not { } settings)
        {
            return stillValid ? snapshot.AccessToken : null;
        }

        OAuthTokens issued;
        try
        {
            // Not tied to any one request: a refresh that other requests joined must not be cancelled by the first caller.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            issued = await tokens.RefreshAsync(settings, snapshot.RefreshToken, timeout.Token).ConfigureAwait(false);
        }
        catch (OAuthTokenException ex)
        {
            if (ex.IsTransient)
            {
                // Network errors, 5xx and 429 may pass: never mark the account for them. A token that is
                // still valid keeps serving; an expired one fails over and the next use retries.
                Log.TokenRefreshDeferred(logger, snapshot.Name, ex.Message);
                return stillValid ? snapshot.AccessToken : null;
            }
            await MarkAsync(account, TokenStatuses.RefreshFailed, ex.Message).ConfigureAwait(false);
            return null;
        }

        Account Apply(Account a) => a with
        {
            AccessToken = issued.AccessToken,
            RefreshToken = issued.RefreshToken ?? a.RefreshToken,
            ExpiresAt = issued.ExpiresAt,
            TokenStatus = null,
            TokenStatusReason = null,
        };
        try
        {
            await accounts.UpdateAsync(account.Id, Apply, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The new refresh token may have replaced the old one upstream: never lose it. Keep it in
            // memory; the state persister retries the write.
            Log.RefreshedTokenWriteFailed(logger, snapshot.Name, ex);
            registry.ChangeStoredFields(account, Apply);
        }
        Log.TokenRefreshed(logger, snapshot.Name, issued.ExpiresAt);
        return issued.AccessToken;
    }

    private async Task MarkAsync(AccountState account, string status, string reason)
    {
        Log.TokenRefreshFailed(logger, account.Name, status, reason);
        Account Mark(Account a) => a with { TokenStatus = status, TokenStatusReason = reason };
        try
        {
            await accounts.UpdateAsync(account.Id, Mark, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AccountStateWriteFailed(logger, account.Name, ex);
            registry.ChangeStoredFields(account, Mark);
        }
    }
}

/// <summary>Supplies API keys as stored and OAuth access tokens refreshed when they are about to expire.</summary>
internal sealed class RefreshingAccountCredentials(TokenRefresher refresher, TimeProvider time) : IAccountCredentials
{
    public ValueTask<string?> GetSecretAsync(AccountState account, CancellationToken cancellationToken)
    {
        var snapshot = account.Snapshot;
        if (snapshot.AuthMethod != AccountAuthMethods.OAuth)
        {
            return ValueTask.FromResult(snapshot.ApiKey);
        }
        if (snapshot.TokenStatus is not null)
        {
            return ValueTask.FromResult<string?>(null);
        }
        if (!refresher.NeedsRefresh(snapshot, time.GetUtcNow()))
        {
            return ValueTask.FromResult(snapshot.AccessToken);
        }
        return new ValueTask<string?>(refresher.RefreshAsync(account).WaitAsync(cancellationToken));
    }
}

/// <summary>Refreshes OAuth tokens that will expire soon even when no request needs them, and drops expired sign-in sessions.</summary>
internal sealed class TokenRefreshService(
    TokenRefresher refresher,
    AccountRegistry registry,
    ICcflareStore store,
    IOptionsMonitor<CcflareOptions> options,
    TimeProvider time,
    ILogger<TokenRefreshService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(Math.Max(1000, options.CurrentValue.TokenRefreshIntervalMs));
        try
        {
            using var timer = new PeriodicTimer(interval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunOnceAsync(interval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: refreshes every OAuth account whose token expires before the next pass plus the margin.</summary>
    public async Task RunOnceAsync(TimeSpan lookAhead, CancellationToken cancellationToken)
    {
        try
        {
            var now = time.GetUtcNow();
            foreach (var state in registry.All)
            {
                var account = state.Snapshot;
                if (account.AuthMethod == AccountAuthMethods.OAuth && account.TokenStatus is null && !account.Paused
                    && !string.IsNullOrEmpty(account.RefreshToken) && refresher.NeedsRefresh(account, now + lookAhead))
                {
                    await refresher.RefreshAsync(state, lookAhead).WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            await store.DeleteExpiredAuthSessionsAsync(now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.BackgroundRefreshFailed(logger, ex);
        }
    }
}
