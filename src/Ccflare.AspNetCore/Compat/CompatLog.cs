using Microsoft.Extensions.Logging;

namespace Ccflare.Compat;

internal static partial class CompatLog
{
    [LoggerMessage(300, LogLevel.Debug, "Compat {Route} request for {Family} model '{Model}'")]
    public static partial void CompatRequest(ILogger logger, string route, string family, string model);

    [LoggerMessage(301, LogLevel.Information, "Compat request could not be translated: {Reason}")]
    public static partial void TranslationRejected(ILogger logger, string reason);

    [LoggerMessage(302, LogLevel.Warning, "Skipped an upstream {Provider} stream event that could not be translated")]
    public static partial void StreamEventSkipped(ILogger logger, string provider, Exception exception);

    [LoggerMessage(303, LogLevel.Warning, "An upstream {Provider} response body could not be translated; answering with an error")]
    public static partial void ResponseUntranslatable(ILogger logger, string provider, Exception exception);
}
