using Ccflare.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Recording;

/// <summary>
/// Drains the write queue in batches (one store transaction per batch). On shutdown it
/// stops accepting new records and writes everything already queued.
/// </summary>
internal sealed class RequestWriter(
    RequestRecorder recorder,
    ICcflareStore store,
    IOptions<CcflareOptions> options,
    ILogger<RequestWriter> logger) : BackgroundService
{
    private readonly List<ProxyExchange> _batch = new(options.Value.WriteBatchSize);
    private readonly List<RequestRecord> _records = new(options.Value.WriteBatchSize);
    private readonly SemaphoreSlim _drainGate = new(1, 1);

    /// <summary>Raised after each record is durably written.</summary>
    public event Action<RequestRecord>? RecordWritten;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = recorder.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await DrainAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
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
        var reader = recorder.Reader;
        var max = options.Value.WriteBatchSize;
        var capture = options.Value.CapturePayloads;
        while (true)
        {
            _batch.Clear();
            _records.Clear();
            while (_batch.Count < max && reader.TryRead(out var exchange))
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
                    _records.Add(RecordBuilder.Build(exchange, capture));
                }
                finally
                {
                    exchange.Release();
                }
            }
            try
            {
                await store.WriteRequestsAsync(_records, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.RequestWriteFailed(logger, _records.Count, ex);
                continue;
            }
            if (RecordWritten is { } handler)
            {
                foreach (var record in _records)
                {
                    handler(record);
                }
            }
        }
    }
}
