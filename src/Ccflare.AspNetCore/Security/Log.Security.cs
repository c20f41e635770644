using Microsoft.Extensions.Logging;

namespace Ccflare.Diagnostics;

// Security events: ids 600-699. Never log a key, token or header value here.
internal static partial class Log
{
    [LoggerMessage(600, LogLevel.Information, "Access-key user '{User}' added")]
    public static partial void UserAdded(ILogger logger, string user);

    [LoggerMessage(601, LogLevel.Information, "Access-key user '{User}' removed")]
    public static partial void UserRemoved(ILogger logger, string user);

    [LoggerMessage(602, LogLevel.Debug, "Proxy request to {Path} refused: {Reason}")]
    public static partial void AccessKeyRejected(ILogger logger, string path, string reason);

    [LoggerMessage(603, LogLevel.Information, "Management request {Method} {Path} from {RemoteIp} refused: {Reason}")]
    public static partial void ManagementRefused(ILogger logger, string method, string path, string remoteIp, string reason);

    [LoggerMessage(604, LogLevel.Error, "Unhandled error in management endpoint {Method} {Path}")]
    public static partial void ManagementFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(605, LogLevel.Information, "Access keys required; {Count} users loaded")]
    public static partial void UsersLoaded(ILogger logger, int count);

    [LoggerMessage(606, LogLevel.Error, "Reloading access-key users failed")]
    public static partial void UsersRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(607, LogLevel.Information, "Browser request {Method} {Path} refused: {Reason}")]
    public static partial void BrowserRequestRefused(ILogger logger, string method, string path, string reason);
}
