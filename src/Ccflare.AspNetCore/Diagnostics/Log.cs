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
}
