using Microsoft.Extensions.Logging;

namespace Ccflare.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Upstream {Provider} account '{Account}' answered {StatusCode}; failing over")]
    public static partial void FailingOver(ILogger logger, string provider, string account, int statusCode);

    [LoggerMessage(2, LogLevel.Warning, "Upstream {Provider} account '{Account}' could not be reached; failing over")]
    public static partial void UpstreamUnreachable(ILogger logger, string provider, string account, Exception exception);

    [LoggerMessage(3, LogLevel.Information, "Account '{Account}' is rate limited until {Until}")]
    public static partial void AccountRateLimited(ILogger logger, string account, DateTimeOffset until);

    [LoggerMessage(4, LogLevel.Warning, "No usable {Provider} account for {Path}")]
    public static partial void NoAccountAvailable(ILogger logger, string provider, string path);

    [LoggerMessage(5, LogLevel.Warning, "Upstream stream from account '{Account}' failed after the response started")]
    public static partial void UpstreamStreamFailed(ILogger logger, string account, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "Writing {Count} request records failed")]
    public static partial void RequestWriteFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(7, LogLevel.Warning, "Write queue full; dropped the record of request {RequestId}")]
    public static partial void RequestRecordDropped(ILogger logger, string requestId);

    [LoggerMessage(8, LogLevel.Error, "Persisting state of account '{Account}' failed")]
    public static partial void AccountStateWriteFailed(ILogger logger, string account, Exception exception);

    [LoggerMessage(9, LogLevel.Information, "Load-balancing strategy changed to '{Strategy}'")]
    public static partial void StrategyChanged(ILogger logger, string strategy);

    [LoggerMessage(10, LogLevel.Debug, "Client cancelled {Path}")]
    public static partial void ClientCancelled(ILogger logger, string path);

    [LoggerMessage(11, LogLevel.Error, "Unexpected error in proxy for {Path}")]
    public static partial void ProxyFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(12, LogLevel.Information, "Account '{Account}' ({Provider}) added")]
    public static partial void AccountAdded(ILogger logger, string account, string provider);

    [LoggerMessage(13, LogLevel.Information, "Account '{Account}' removed")]
    public static partial void AccountRemoved(ILogger logger, string account);

    [LoggerMessage(14, LogLevel.Warning, "Request observer {Observer} threw")]
    public static partial void RequestObserverFailed(ILogger logger, string observer, Exception exception);

    // OAuth, token refresh and secret protection: 400-499.

    [LoggerMessage(400, LogLevel.Information, "OAuth sign-in for {Provider} account '{Account}' started (session {SessionId})")]
    public static partial void SignInStarted(ILogger logger, string provider, string account, string sessionId);

    [LoggerMessage(401, LogLevel.Information, "OAuth sign-in for {Provider} account '{Account}' completed")]
    public static partial void SignInCompleted(ILogger logger, string provider, string account);

    [LoggerMessage(402, LogLevel.Warning, "OAuth sign-in for {Provider} account '{Account}' failed: {Reason}")]
    public static partial void SignInFailed(ILogger logger, string provider, string account, string reason);

    [LoggerMessage(403, LogLevel.Information, "Refreshed the OAuth token of account '{Account}'; it now expires at {ExpiresAt}")]
    public static partial void TokenRefreshed(ILogger logger, string account, DateTimeOffset? expiresAt);

    [LoggerMessage(404, LogLevel.Warning, "Refreshing the OAuth token of account '{Account}' failed; the account is marked '{Status}': {Reason}")]
    public static partial void TokenRefreshFailed(ILogger logger, string account, string status, string reason);

    [LoggerMessage(405, LogLevel.Warning, "Refreshing the OAuth token of account '{Account}' failed transiently; will retry: {Reason}")]
    public static partial void TokenRefreshDeferred(ILogger logger, string account, string reason);

    [LoggerMessage(406, LogLevel.Error, "Stored secrets of {What} cannot be decrypted with the current Data Protection key ring")]
    public static partial void SecretDecryptFailed(ILogger logger, string what);

    [LoggerMessage(407, LogLevel.Error, "Background OAuth token refresh pass failed")]
    public static partial void BackgroundRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(408, LogLevel.Information, "Reloaded accounts from the store: {Added} added, {Removed} removed, {Changed} changed")]
    public static partial void AccountsReloaded(ILogger logger, int added, int removed, int changed);

    [LoggerMessage(409, LogLevel.Warning, "Reloading accounts from the store failed")]
    public static partial void AccountReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(430, LogLevel.Information, "Strategy changed to '{Strategy}' in the store (by another instance)")]
    public static partial void StrategyReloaded(ILogger logger, string strategy);

    [LoggerMessage(431, LogLevel.Information, "The OAuth token of account '{Account}' was refreshed by another instance; using it")]
    public static partial void TokenRefreshedElsewhere(ILogger logger, string account);

    [LoggerMessage(410, LogLevel.Error, "Persisting refreshed tokens of account '{Account}' failed; they are kept in memory and retried")]
    public static partial void RefreshedTokenWriteFailed(ILogger logger, string account, Exception exception);
}
