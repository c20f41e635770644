using Ccflare.Diagnostics;
using Ccflare.Pricing;
using Ccflare.Usage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Recording;

/// <summary>
/// Drains the write queue in batches (one store transaction per batch): builds each record
/// (usage, cost, masking), records the usage metrics, writes the batch and announces it.
/// When fewer than a batch are waiting it lets them gather for <see cref="GatherDelay"/> first.
/// On shutdown it stops accepting new records and writes everything already queued. A batch the
/// store rejects is tried again <see cref="CcflareOptions.RetryAttempts"/> times, after
/// <see cref="CcflareOptions.RetryDelayMs"/> growing by <see cref="CcflareOptions.RetryBackoff"/>.
/// </summary>
internal sealed class RequestWriter(
    RequestRecorder recorder,
    ICcflareStore store,
    PriceTable prices,
    CcflareMetrics metrics,
    IOptions<CcflareOptions> options,
    TimeProvider time,
    ILogger<RequestWriter> logger,
    Journal.HistoryJournal journal,
    Accounts.AccountStatePersister persister) : BackgroundService
{
    /// <summary>
    /// How long queued rows wait for company. A transaction of a handful of rows costs SQLite
    /// about twice as much per row as one of hundreds (each commit rewrites the touched table and
    /// index pages), and under load the writer would otherwise wake for every few requests.
    /// </summary>
    internal static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(25);

    private readonly List<ProxyExchange> _batch = new(options.Value.WriteBatchSize);
    private readonly List<RequestRecord> _records = new(options.Value.WriteBatchSize);
    private readonly SemaphoreSlim _drainGate = new(1, 1);
    private readonly ResponseChains _chains = new();
    private long _written;
    private long _failed;

    /// <summary>Raised after each record is durably written. Handlers must be quick and must not throw.</summary>
    public event Action<RequestRecord>? RecordWritten;

    /// <summary>Records written since start.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records lost because the store rejected their batch.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>How long the queue must stay empty before memory freed by large bodies is handed back to the OS.</summary>
    internal static readonly TimeSpan ReturnMemoryAfterIdle = TimeSpan.FromSeconds(2);

    /// <summary>Large-body bytes that must have been released since the last time memory was handed back.</summary>
    internal static readonly long ReturnMemoryThresholdBytes = 16L * 1024 * 1024;

    /// <summary><see cref="Proxy.RequestBodyBuffer.LargeBytesReleased"/> when memory was last handed back.</summary>
    private long _largeBytesReturned = Proxy.RequestBodyBuffer.LargeBytesReleased;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            Task<bool>? next = null;
            while (true)
            {
                next ??= recorder.WaitToReadAsync(stoppingToken).AsTask();
                if (Proxy.RequestBodyBuffer.LargeBytesReleased - _largeBytesReturned >= ReturnMemoryThresholdBytes && !next.IsCompleted)
                {
                    var quiet = Task.Delay(ReturnMemoryAfterIdle, time, stoppingToken);
                    if (await Task.WhenAny(next, quiet).ConfigureAwait(false) == quiet)
                    {
                        await quiet.ConfigureAwait(false);
                        ReturnMemory();
                        continue;
                    }
                }
                if (!await next.ConfigureAwait(false))
                {
                    return;
                }
                next = null;
                if (recorder.Pending < options.Value.WriteBatchSize)
                {
                    await Task.Delay(GatherDelay, time, stoppingToken).ConfigureAwait(false);
                }
                await DrainAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// After a burst of large bodies and a quiet spell: one compacting full collection that also
    /// decommits the freed heap. Without it an idle server keeps its peak working set, since the GC
    /// only runs when something allocates (measured on the standalone server: 108 MiB idle, 540 MiB
    /// still resident 20 s after twenty 30 MB requests; with it, 145 to 155 MiB). Rate-limited by
    /// its cue: at least 16 MiB of large bodies released since the last one, then two quiet seconds.
    /// </summary>
    private void ReturnMemory()
    {
        _largeBytesReturned = Proxy.RequestBodyBuffer.LargeBytesReleased;
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var started = time.GetTimestamp();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Log.MemoryReturned(logger, before >> 20, GC.GetGCMemoryInfo().TotalCommittedBytes >> 20, (long)time.GetElapsedTime(started).TotalMilliseconds);
    }

    public override void Dispose()
    {
        _drainGate.Dispose();
        base.Dispose();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        recorder.Complete();
        await DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes everything queued right now. Also used by tests to wait for history.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        await _drainGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await DrainCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _drainGate.Release();
        }
    }

    private async Task DrainCoreAsync(CancellationToken cancellationToken)
    {
        var max = options.Value.WriteBatchSize;
        var capture = options.Value.CapturePayloads;
        while (true)
        {
            _batch.Clear();
            _records.Clear();
            while (_batch.Count < max && recorder.TryDequeue(out var exchange))
            {
                _batch.Add(exchange);
            }
            if (_batch.Count == 0)
            {
                return;
            }
            foreach (var exchange in _batch)
            {
                try
                {
                    var record = RecordBuilder.Build(exchange, capture, prices, _chains, options.Value.MaxStoredPayloadBytes, out _);
                    _records.Add(record);
                    RecordMetrics(record, exchange);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.RecordBuildFailed(logger, exchange.Id, ex);
                }
                finally
                {
                    exchange.Release();
                }
            }
            if (!await WriteWithRetriesAsync(cancellationToken).ConfigureAwait(false))
            {
                // Their journal lines stay: the next start writes these rows if the store takes them then.
                continue;
            }
            foreach (var exchange in _batch)
            {
                journal.Settle(exchange);
            }
            if (RecordWritten is { } handler)
            {
                foreach (var record in _records)
                {
                    handler(record);
                }
            }
            if (journal.Enabled)
            {
                await journal.DeleteSettledSegmentsAsync(persister.FlushAsync, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> WriteWithRetriesAsync(CancellationToken cancellationToken)
    {
        var value = options.Value;
        var delay = TimeSpan.FromMilliseconds(value.RetryDelayMs);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await store.WriteRequestsAsync(_records, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _written, _records.Count);
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && attempt < value.RetryAttempts)
            {
                Log.RequestWriteRetrying(logger, _records.Count, attempt + 1, value.RetryAttempts, delay.TotalMilliseconds, ex);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Add(ref _failed, _records.Count);
                Log.RequestWriteFailed(logger, _records.Count, ex);
                return false;
            }
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
            delay = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * value.RetryBackoff);
        }
    }

    private void RecordMetrics(RequestRecord record, ProxyExchange exchange)
    {
        if (record.ProxyOverheadMs is { } overhead && metrics.ProxyOverhead.Enabled)
        {
            metrics.ProxyOverhead.Record(overhead, new KeyValuePair<string, object?>("provider", record.Provider));
        }
        metrics.RecordUsage(record, exchange.Account?.Name);
    }
}
