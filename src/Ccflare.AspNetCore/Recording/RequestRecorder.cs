using System.Threading.Channels;
using Ccflare.Diagnostics;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Recording;

/// <summary>
/// The request path's only contact with history: a hand-off into a bounded queue that
/// <see cref="RequestWriter"/> drains in batches. The queue holds
/// <see cref="CcflareOptions.WriteQueueCapacity"/> complete exchanges. When it is full the
/// request waits briefly (<see cref="WriteQueueFullMode"/>), then its payload is dropped and
/// the row is admitted into a smaller overflow allowance (a quarter of the capacity); only
/// when that is full too is the row dropped. Request bodies waiting in the queue are bounded
/// by bytes too (<see cref="MaxQueuedBodyBytes"/>): past it a request keeps its row but not its
/// payload, so a burst of large bodies that the store cannot write as fast as they arrive does
/// not hold gigabytes. Every drop is counted.
/// </summary>
internal sealed class RequestRecorder
{
    private readonly Channel<ProxyExchange> _queue;
    private readonly SemaphoreSlim _slots;
    private readonly int _overflowCapacity;
    private readonly WriteQueueFullMode _mode;
    private readonly TimeSpan _wait;
    private readonly TimeProvider _time;
    private readonly CcflareMetrics _metrics;
    private readonly ILogger<RequestRecorder> _logger;
    private int _overflowUsed;
    private long _droppedRows;
    private long _droppedPayloads;
    private int _inFlight;
    private long _queuedBodyBytes;
    private readonly Journal.HistoryJournal? _journal;

    public RequestRecorder(IOptions<CcflareOptions> options, TimeProvider time, CcflareMetrics metrics, ILogger<RequestRecorder> logger, Journal.HistoryJournal? journal = null)
    {
        _journal = journal;
        var value = options.Value;
        _queue = Channel.CreateUnbounded<ProxyExchange>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false }); // multi-reader: supports Count
        _slots = new SemaphoreSlim(value.WriteQueueCapacity, value.WriteQueueCapacity);
        _overflowCapacity = Math.Max(1, value.WriteQueueCapacity / 4);
        _mode = value.WriteQueueFullMode;
        MaxQueuedBodyBytes = value.WriteQueueMaxBodyBytes;
        _wait = TimeSpan.FromMilliseconds(Math.Max(0, value.WriteQueueFullWaitMs));
        _time = time;
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveQueueDepth(() => _queue.Reader.Count);
    }

    /// <summary>Raised on the request path when a request starts. Handlers must be quick and must not throw.</summary>
    public event Action<ProxyExchange>? RequestStarted;

    /// <summary>Raised on the request path when the upstream's status is about to be sent to the client. Handlers must be quick and must not throw.</summary>
    public event Action<ProxyExchange>? ResponseStarted;

    /// <summary>Rows dropped because the queue and its overflow allowance were full (or the writer had stopped).</summary>
    public long Dropped => Interlocked.Read(ref _droppedRows);

    /// <summary>Rows kept without their payload because the queue was full.</summary>
    public long DroppedPayloads => Interlocked.Read(ref _droppedPayloads);

    public int Pending => _queue.Reader.Count;

    /// <summary>Most request-body bytes that may wait in the queue (<see cref="CcflareOptions.WriteQueueMaxBodyBytes"/>).</summary>
    internal long MaxQueuedBodyBytes { get; set; }

    /// <summary>Request-body bytes waiting in the queue.</summary>
    internal long QueuedBodyBytes => Interlocked.Read(ref _queuedBodyBytes);

    /// <summary>Requests that started and are not yet queued for writing.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void Started(ProxyExchange exchange)
    {
        Interlocked.Increment(ref _inFlight);
        RequestStarted?.Invoke(exchange);
    }

    public void Responding(ProxyExchange exchange) => ResponseStarted?.Invoke(exchange);

    /// <summary>
    /// Call right before the last bytes of the response go to the client when they are not the end of
    /// the handler (a body of announced length): the request is counted on its account and its row
    /// journaled. Every other request is acknowledged when it completes, which is before the server
    /// ends the response.
    /// </summary>
    public void Acknowledge(ProxyExchange exchange) => _journal?.Acknowledge(exchange);

    /// <summary>Queues a finished exchange. Completes synchronously unless the queue is full.</summary>
    public ValueTask CompletedAsync(ProxyExchange exchange)
    {
        Acknowledge(exchange);
        if (_slots.Wait(0))
        {
            AdmitBody(exchange);
            Enqueue(exchange);
            Interlocked.Decrement(ref _inFlight);
            return ValueTask.CompletedTask;
        }
        return CompletedSlowAsync(exchange);
    }

    /// <summary>Synchronous variant: never waits.</summary>
    public void Completed(ProxyExchange exchange)
    {
        Acknowledge(exchange);
        if (_slots.Wait(0))
        {
            AdmitBody(exchange);
            Enqueue(exchange);
            Interlocked.Decrement(ref _inFlight);
            return;
        }
        try
        {
            Overflow(exchange);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async ValueTask CompletedSlowAsync(ProxyExchange exchange)
    {
        try
        {
            if (_mode == WriteQueueFullMode.WaitThenDrop && _wait > TimeSpan.Zero)
            {
                using var timeout = new CancellationTokenSource(_wait, _time);
                try
                {
                    await _slots.WaitAsync(timeout.Token).ConfigureAwait(false);
                    AdmitBody(exchange);
                    Enqueue(exchange);
                    return;
                }
                catch (OperationCanceledException)
                {
                }
            }
            Overflow(exchange);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Counts the request body against <see cref="MaxQueuedBodyBytes"/>, or sheds the payload when it does not fit.</summary>
    private void AdmitBody(ProxyExchange exchange)
    {
        if (exchange.RequestBodyOwner is not { Length: > 0 } body)
        {
            return;
        }
        if (Interlocked.Add(ref _queuedBodyBytes, body.Length) <= MaxQueuedBodyBytes)
        {
            exchange.QueuedBodyBytes = body.Length;
            return;
        }
        Interlocked.Add(ref _queuedBodyBytes, -body.Length);
        ShedPayload(exchange);
        Interlocked.Increment(ref _droppedPayloads);
        _metrics.RecordsDropped.Add(1, new KeyValuePair<string, object?>("kind", "payload"));
        Log.RequestPayloadDropped(_logger, exchange.Id);
    }

    private void ReleaseBody(ProxyExchange exchange)
    {
        if (exchange.QueuedBodyBytes > 0)
        {
            Interlocked.Add(ref _queuedBodyBytes, -exchange.QueuedBodyBytes);
            exchange.QueuedBodyBytes = 0;
        }
    }

    /// <summary>Queue full: keep the row without its payload if the overflow allowance has room, else drop it.</summary>
    private void Overflow(ProxyExchange exchange)
    {
        if (Interlocked.Increment(ref _overflowUsed) <= _overflowCapacity)
        {
            ShedPayload(exchange);
            exchange.InOverflow = true;
            Interlocked.Increment(ref _droppedPayloads);
            _metrics.RecordsDropped.Add(1, new KeyValuePair<string, object?>("kind", "payload"));
            Log.RequestPayloadDropped(_logger, exchange.Id);
            Enqueue(exchange);
            return;
        }
        Interlocked.Decrement(ref _overflowUsed);
        DropRow(exchange);
    }

    private static void ShedPayload(ProxyExchange exchange)
    {
        if (exchange.RequestBodyOwner is { } owner)
        {
            exchange.RequestFields = RequestFields.Read(owner.Length > 0 ? owner.Span : default);
            owner.Dispose();
            exchange.RequestBodyOwner = null;
        }
        exchange.PayloadDropped = true;
        exchange.RequestHeaders = null;
        exchange.ResponseHeaders = null;
        // The response capture stays: usage and cost are read from it.
    }

    private void Enqueue(ProxyExchange exchange)
    {
        if (_queue.Writer.TryWrite(exchange))
        {
            return;
        }
        // The writer has stopped (shutdown): nothing will read this.
        ReleaseSlot(exchange);
        ReleaseBody(exchange);
        DropRow(exchange);
    }

    private void DropRow(ProxyExchange exchange)
    {
        Interlocked.Increment(ref _droppedRows);
        _metrics.RecordsDropped.Add(1, new KeyValuePair<string, object?>("kind", "row"));
        Log.RequestRecordDropped(_logger, exchange.Id);
        exchange.Release();
        _journal?.Settle(exchange);
    }

    private void ReleaseSlot(ProxyExchange exchange)
    {
        if (exchange.InOverflow)
        {
            Interlocked.Decrement(ref _overflowUsed);
        }
        else
        {
            _slots.Release();
        }
    }

    /// <summary>Takes the next queued exchange, freeing its place in the queue.</summary>
    public bool TryDequeue(out ProxyExchange exchange)
    {
        if (_queue.Reader.TryRead(out exchange!))
        {
            ReleaseSlot(exchange);
            ReleaseBody(exchange);
            return true;
        }
        return false;
    }

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _queue.Reader.WaitToReadAsync(cancellationToken);

    public void Complete() => _queue.Writer.TryComplete();
}
