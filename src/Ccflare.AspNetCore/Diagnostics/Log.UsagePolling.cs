using Microsoft.Extensions.Logging;

namespace Ccflare.Diagnostics;

// Event ids 520-539: polling the usage endpoints. Messages name accounts and endpoints, never credentials.
internal static partial class Log
{
    [LoggerMessage(520, LogLevel.Information, "Polling the usage endpoints of OAuth accounts every {Interval}")]
    public static partial void UsagePollingStarted(ILogger logger, TimeSpan interval);

    [LoggerMessage(521, LogLevel.Warning, "The usage endpoint of {Provider} answered {StatusCode} for account '{Account}'; asking again in {Wait}")]
    public static partial void UsagePollRefused(ILogger logger, string provider, string account, int statusCode, TimeSpan wait);

    [LoggerMessage(522, LogLevel.Warning, "Polling the usage of {Provider} account '{Account}' failed ({Outcome}): {Reason}; asking again in {Wait}")]
    public static partial void UsagePollFailed(ILogger logger, string provider, string account, string outcome, string reason, TimeSpan wait);

    [LoggerMessage(523, LogLevel.Debug, "Polled the usage of {Provider} account '{Account}'")]
    public static partial void UsagePolled(ILogger logger, string provider, string account);
}
