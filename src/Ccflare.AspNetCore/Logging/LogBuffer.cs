using Ccflare.Recording;

namespace Ccflare.Logging;

/// <summary>One log line as <c>/api/logs/history</c> and <c>/api/logs/stream</c> show it.</summary>
internal sealed record LogEntry(DateTimeOffset Timestamp, string Level, string Component, string Message, IReadOnlyDictionary<string, string?>? Metadata);

/// <summary>The most recent log lines (bounded ring) plus live subscribers.</summary>
internal sealed class LogBuffer
{
    public const int DefaultCapacity = 1000;

    private readonly Lock _gate = new();
    private readonly LogEntry[] _ring;
    private int _next;
    private int _count;

    public LogBuffer(TimeProvider time, int capacity = DefaultCapacity)
    {
        Time = time;
        _ring = new LogEntry[Math.Max(1, capacity)];
    }

    public TimeProvider Time { get; }

    public LiveEvents<LogEntry> Live { get; } = new();

    public void Add(LogEntry entry)
    {
        lock (_gate)
        {
            _ring[_next] = entry;
            _next = (_next + 1) % _ring.Length;
            if (_count < _ring.Length)
            {
                _count++;
            }
        }
        Live.Publish(entry);
    }

    /// <summary>The last <paramref name="limit"/> entries, oldest first.</summary>
    public IReadOnlyList<LogEntry> Snapshot(int limit = int.MaxValue)
    {
        lock (_gate)
        {
            var take = Math.Min(limit, _count);
            var result = new LogEntry[take];
            var start = (_next - take + _ring.Length) % _ring.Length;
            for (var i = 0; i < take; i++)
            {
                result[i] = _ring[(start + i) % _ring.Length];
            }
            return result;
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            Array.Clear(_ring);
            _next = 0;
            _count = 0;
        }
    }
}
