using System.Globalization;
using Ccflare.Recording;
using Microsoft.Extensions.Logging;

namespace Ccflare.Logging;

/// <summary>
/// Feeds <see cref="LogBuffer"/>: every enabled entry from Ccflare's own categories
/// (<c>Ccflare.*</c>) and warnings and errors from everything else. Messages come from
/// Ccflare's templates, which never include secrets; structured values whose names look like
/// credentials are masked anyway, and exceptions are reduced to their type and message.
/// </summary>
[ProviderAlias("CcflareBuffer")]
internal sealed class LogBufferProvider(LogBuffer buffer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new BufferLogger(buffer, categoryName);

    public void Dispose()
    {
    }

    private sealed class BufferLogger(LogBuffer buffer, string category) : ILogger
    {
        private readonly bool _own = category.StartsWith("Ccflare", StringComparison.Ordinal);
        private readonly string _component = Component(category);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && (_own || logLevel >= LogLevel.Warning);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            Dictionary<string, string?>? metadata = null;
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "{OriginalFormat}")
                    {
                        continue;
                    }
                    metadata ??= new Dictionary<string, string?>(StringComparer.Ordinal);
                    metadata[key] = PayloadMasking.IsSensitiveProperty(key) ? PayloadMasking.Masked : Format(value);
                }
            }
            if (eventId.Id != 0)
            {
                (metadata ??= new Dictionary<string, string?>(StringComparer.Ordinal))["eventId"] = eventId.Id.ToString(CultureInfo.InvariantCulture);
            }
            if (exception is not null)
            {
                (metadata ??= new Dictionary<string, string?>(StringComparer.Ordinal))["exception"] = exception.GetType().Name + ": " + exception.Message;
            }
            buffer.Add(new LogEntry(buffer.Time.GetUtcNow(), Level(logLevel), _component, formatter(state, exception), metadata));
        }

        private static string? Format(object? value) => value switch
        {
            null => null,
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace or LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARN",
            _ => "ERROR",
        };

        private static string Component(string category)
        {
            var dot = category.LastIndexOf('.');
            return dot < 0 ? category : category[(dot + 1)..];
        }
    }
}
