using Microsoft.Extensions.Logging;

namespace Ccflare.Diagnostics;

// Event ids 500-599: usage windows and the routing that follows them.
internal static partial class Log
{
    [LoggerMessage(500, LogLevel.Information, "Account {Account} is near its limit: window {Window} is at or above the switch threshold; other accounts go first until it resets at {ResetsAt}")]
    public static partial void AccountNearLimit(ILogger logger, string account, string window, DateTimeOffset? resetsAt);

    [LoggerMessage(501, LogLevel.Information, "Account {Account} has headroom again")]
    public static partial void AccountHeadroomRegained(ILogger logger, string account);
}
