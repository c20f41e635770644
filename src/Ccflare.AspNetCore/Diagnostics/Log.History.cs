using Microsoft.Extensions.Logging;

namespace Ccflare.Diagnostics;

// Event ids 100-199: history, usage, analytics, logs, retention.
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Warning, "No price is known for model '{Model}'; its requests are recorded with cost 0. Add Ccflare:Pricing:{Model} or an entry in Ccflare:PricesFile to price it")]
    public static partial void UnknownModelPrice(ILogger logger, string model);

    [LoggerMessage(101, LogLevel.Warning, "Write queue full; stored request {RequestId} without its payload")]
    public static partial void RequestPayloadDropped(ILogger logger, string requestId);

    [LoggerMessage(102, LogLevel.Error, "Building the history record of request {RequestId} failed")]
    public static partial void RecordBuildFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(103, LogLevel.Information, "Retention removed {Requests} requests older than {RequestCutoff} and {Payloads} payloads older than {PayloadCutoff}")]
    public static partial void RetentionApplied(ILogger logger, long requests, DateTimeOffset requestCutoff, long payloads, DateTimeOffset payloadCutoff);

    [LoggerMessage(104, LogLevel.Error, "Applying retention failed")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(105, LogLevel.Information, "Retention set to {PayloadDays} days for payloads and {RequestDays} days for requests")]
    public static partial void RetentionChanged(ILogger logger, int payloadDays, int requestDays);

    [LoggerMessage(106, LogLevel.Information, "Statistics reset: {Requests} request records removed")]
    public static partial void StatsReset(ILogger logger, long requests);

    [LoggerMessage(107, LogLevel.Information, "Storage compacted in {ElapsedMs} ms")]
    public static partial void StoreCompacted(ILogger logger, double elapsedMs);

    [LoggerMessage(108, LogLevel.Debug, "A live-event subscriber fell behind; dropped an event")]
    public static partial void SubscriberLagging(ILogger logger);

    [LoggerMessage(109, LogLevel.Information, "Prices file '{Path}' loaded: {Count} models")]
    public static partial void PricesFileLoaded(ILogger logger, string path, int count);

    [LoggerMessage(110, LogLevel.Error, "Prices file '{Path}' {Problem}; the prices loaded before stay in use")]
    public static partial void PricesFileRejected(ILogger logger, string path, string problem);

    [LoggerMessage(111, LogLevel.Error, "Appending to the history journal {Path} failed; rows of requests finishing now survive only a graceful stop")]
    public static partial void JournalAppendFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(112, LogLevel.Warning, "History journal of an interrupted run: wrote {Rows} rows a crash had kept from the store and skipped {Existing} already stored, from {Files} files")]
    public static partial void JournalReplayed(ILogger logger, int rows, int existing, int files);

    [LoggerMessage(113, LogLevel.Warning, "History journal {Path} line {Line} is incomplete or unreadable; skipped")]
    public static partial void JournalLineSkipped(ILogger logger, string path, int line);

    [LoggerMessage(114, LogLevel.Warning, "Writing {Count} request records failed; retry {Attempt} of {Attempts} in {DelayMs} ms")]
    public static partial void RequestWriteRetrying(ILogger logger, int count, int attempt, int attempts, double delayMs, Exception exception);

    [LoggerMessage(115, LogLevel.Information, "Large request bodies drained: handed memory back, GC heap committed {BeforeMiB} MiB -> {AfterMiB} MiB in {ElapsedMs} ms")]
    public static partial void MemoryReturned(ILogger logger, long beforeMiB, long afterMiB, long elapsedMs);
}
