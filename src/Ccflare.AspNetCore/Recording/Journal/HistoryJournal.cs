using System.Buffers;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Storage;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace Ccflare.Recording.Journal;

/// <summary>
/// Makes a finished request's history row survive a crash of the process. Before the last bytes of
/// a response leave, <see cref="Acknowledge"/> appends the row's facts (and the served account's
/// counters after it) to a local file with one <c>write</c>: from then on the kernel holds them,
/// whatever happens to the process. The row still reaches the store through the write queue as
/// before; the journal is read only at start-up, when rows missing from the store are written and
/// the account counters brought up to the journal's, before anything else touches the store.
/// The journal is split into segments; a segment is deleted once every row in it was written
/// and the counters flushed.
/// </summary>
internal sealed class HistoryJournal : IDisposable
{
    private const string SegmentPrefix = "history-";
    private const string SegmentExtension = ".journal";
    private const string LockFileName = "history.lock";

    private readonly string? _directory;
    private readonly bool _flushToDisk;
    private readonly AccountRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<HistoryJournal> _logger;
    private readonly Lock _gate = new();
    private readonly List<JournalSegment> _sealed = [];
    private FileStream? _lock;
    private JournalSegment? _active;
    private int _nextSequence = 1;
    private bool _appendFailed;

    public HistoryJournal(IOptions<CcflareOptions> options, AccountRegistry registry, TimeProvider time, ILogger<HistoryJournal> logger)
    {
        _directory = options.Value.HistoryJournalDirectory;
        _flushToDisk = options.Value.HistoryJournalFlushToDisk;
        _registry = registry;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// The line being written on this thread: serialised outside the journal's lock, so that requests
    /// wait on each other only for the account counters and the write.
    /// </summary>
    [ThreadStatic]
    private static LineWriter? t_line;

    /// <summary>Size past which the journal starts a new segment.</summary>
    internal long SegmentBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>True once <see cref="OpenAsync"/> opened a journal file.</summary>
    public bool Enabled => _active is not null;

    /// <summary>The journal's directory, or null when there is none.</summary>
    public string? Directory => _active is null ? null : _directory;

    /// <summary>
    /// Records that <paramref name="exchange"/>'s response is about to be complete: counts the request
    /// on its account and, when the journal is open, appends its row first. Idempotent per exchange.
    /// </summary>
    public void Acknowledge(ProxyExchange exchange)
    {
        if (exchange.Acknowledged)
        {
            return;
        }
        exchange.Acknowledged = true;
        var account = exchange.Account;
        if (_active is null)
        {
            if (account is not null)
            {
                _registry.RecordServed(account, _time.GetUtcNow());
            }
            return;
        }

        // Parsed once here; the writer reuses both instead of reading the bodies again.
        exchange.Usage ??= UsageParser.Parse(exchange.ResponseBody is { } body ? body.AsMemory(0, exchange.ResponseBodyLength) : default, exchange.IsStreaming);
        exchange.RequestFields ??= RequestFields.Read(exchange.RequestBodyOwner is { Length: > 0 } owner ? owner.Span : default);
        exchange.ResponseTimeMs ??= System.Diagnostics.Stopwatch.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds;
        var line = t_line ??= new LineWriter();
        line.Begin();
        JournalLineFormat.WriteRow(line.Json, exchange, exchange.Usage, exchange.RequestFields.Value);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            JournaledCounters? counters = null;
            if (account is not null)
            {
                var current = account.Snapshot;
                counters = new JournaledCounters(current.Id, current.TotalRequests + 1, current.RequestCount + 1, current.SessionRequestCount + 1, now);
            }
            JournalLineFormat.WriteEnd(line.Json, counters);
            if (Append(line.End()) is { } segment)
            {
                exchange.JournalSegment = segment;
                segment.Pending++;
            }
            // Counted after the append: a counter the store may persist is never ahead of the journal.
            if (account is not null)
            {
                _registry.RecordServed(account, now);
            }
        }
        line.Trim();
    }

    /// <summary>The row of <paramref name="exchange"/> was written (or given up): its segment no longer needs it.</summary>
    public void Settle(ProxyExchange exchange)
    {
        if (exchange.JournalSegment is { } segment)
        {
            exchange.JournalSegment = null;
            lock (_gate)
            {
                segment.Pending--;
            }
        }
    }

    /// <summary>
    /// Deletes sealed segments whose rows are all settled, after <paramref name="flushCounters"/> stored
    /// the account counters they carry.
    /// </summary>
    public async Task DeleteSettledSegmentsAsync(Func<CancellationToken, Task> flushCounters, CancellationToken cancellationToken)
    {
        List<JournalSegment>? settled = null;
        lock (_gate)
        {
            foreach (var segment in _sealed)
            {
                if (segment.Pending <= 0)
                {
                    (settled ??= []).Add(segment);
                }
            }
        }
        if (settled is null)
        {
            return;
        }
        await flushCounters(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var segment in settled)
            {
                _sealed.Remove(segment);
            }
        }
        foreach (var segment in settled)
        {
            File.Delete(segment.Path);
        }
    }

    /// <summary>Writes one line at the end of the active segment, starting a new segment past <see cref="SegmentBytes"/>; null when it could not be kept.</summary>
    private JournalSegment? Append(ReadOnlySpan<byte> line)
    {
        var segment = _active!;
        try
        {
            RandomAccess.Write(segment.Handle, line, segment.Length);
            if (_flushToDisk)
            {
                RandomAccess.FlushToDisk(segment.Handle);
            }
            segment.Length += line.Length;
            _appendFailed = false;
        }
        catch (IOException ex)
        {
            if (!_appendFailed)
            {
                _appendFailed = true;
                Log.JournalAppendFailed(_logger, segment.Path, ex);
            }
            return null;
        }
        if (segment.Length >= SegmentBytes)
        {
            Rotate();
        }
        return segment;
    }

    private void Rotate()
    {
        var full = _active!;
        try
        {
            _active = OpenSegment(_nextSequence++);
        }
        catch (IOException ex)
        {
            Log.JournalAppendFailed(_logger, full.Path, ex);
            return;
        }
        full.Handle.Dispose();
        _sealed.Add(full);
    }

    private JournalSegment OpenSegment(int sequence)
    {
        var path = Path.Combine(_directory!, SegmentPrefix + sequence.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + SegmentExtension);
        PrivateFiles.EnsureFile(path);
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        return new JournalSegment(path, handle);
    }

    /// <summary>
    /// At start-up, before accounts are loaded: writes the rows of every journaled request the store
    /// lacks (never a second copy of one it has), raises account counters to the journal's, then
    /// empties the journal and opens a new one. Does nothing without a directory or for the in-memory
    /// store, whose rows a crash loses anyway.
    /// </summary>
    public async Task OpenAsync(ICcflareStore store, AccountStore accounts, Pricing.PriceTable prices, int batchSize, CancellationToken cancellationToken)
    {
        if (_directory is null || store.Capability<InMemoryStore>() is not null || _active is not null)
        {
            return;
        }
        // Journal lines name users, models and paths: like the database, only the owner may read them.
        PrivateFiles.EnsureDirectory(_directory);
        try
        {
            var lockPath = Path.Combine(_directory, LockFileName);
            PrivateFiles.EnsureFile(lockPath);
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another process uses the history journal in '{_directory}'. Give each Ccflare process its own {CcflareOptions.SectionName}:{nameof(CcflareOptions.HistoryJournalDirectory)}.", ex);
        }

        var files = System.IO.Directory.GetFiles(_directory, SegmentPrefix + "*" + SegmentExtension);
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length > 0)
        {
            await JournalReplay.RunAsync(files, store, accounts, prices, batchSize, _logger, cancellationToken).ConfigureAwait(false);
            foreach (var file in files)
            {
                File.Delete(file);
            }
        }
        lock (_gate)
        {
            _active = OpenSegment(_nextSequence++);
        }
    }

    /// <summary>
    /// After a graceful stop (the writer drained, the counters flushed): deletes the journal when every
    /// row in it reached the store, so the next start has nothing to read. Rows the store rejected keep it.
    /// </summary>
    public void CloseAfterDrain()
    {
        lock (_gate)
        {
            if (_active is not { } active || active.Pending > 0 || _sealed.Exists(s => s.Pending > 0))
            {
                return;
            }
            active.Handle.Dispose();
            _active = null;
            foreach (var segment in _sealed)
            {
                File.Delete(segment.Path);
            }
            _sealed.Clear();
            File.Delete(active.Path);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _active?.Handle.Dispose();
        }
        _lock?.Dispose();
    }
}

/// <summary>One journal file and how many of its rows still wait to be written.</summary>
internal sealed class JournalSegment(string path, SafeFileHandle handle)
{
    public string Path { get; } = path;

    public SafeFileHandle Handle { get; } = handle;

    public long Length { get; set; }

    /// <summary>Rows appended here and not yet settled; guarded by the journal's lock.</summary>
    public int Pending { get; set; }
}

/// <summary>A thread's buffer and JSON writer for the journal line it is building.</summary>
internal sealed class LineWriter
{
    private const int KeepBytes = 16 * 1024;
    private ArrayBufferWriter<byte> _buffer = new(1024);

    public LineWriter() => Json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

    public Utf8JsonWriter Json { get; private set; }

    public void Begin()
    {
        _buffer.ResetWrittenCount();
        Json.Reset(_buffer);
    }

    /// <summary>The finished line, newline included.</summary>
    public ReadOnlySpan<byte> End()
    {
        Json.Flush();
        _buffer.GetSpan(1)[0] = (byte)'\n';
        _buffer.Advance(1);
        return _buffer.WrittenSpan;
    }

    /// <summary>Lets go of a buffer an unusually long line grew, instead of keeping it for the thread's life.</summary>
    public void Trim()
    {
        if (_buffer.Capacity > KeepBytes)
        {
            _buffer = new ArrayBufferWriter<byte>(1024);
            Json.Dispose();
            Json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
        }
    }
}
