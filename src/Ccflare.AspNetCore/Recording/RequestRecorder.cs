using System.Threading.Channels;
using Ccflare.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Recording;

/// <summary>
/// The request path's only contact with history: a non-blocking hand-off into a bounded
/// queue that <see cref="RequestWriter"/> drains in batches.
/// </summary>
internal sealed class RequestRecorder
{
    private readonly Channel<ProxyExchange> _queue;
    private readonly CcflareMetrics _metrics;
    private readonly ILogger<RequestRecorder> _logger;
    private long _dropped;
    private int _inFlight;

    public RequestRecorder(IOptions<CcflareOptions> options, CcflareMetrics metrics, ILogger<RequestRecorder> logger)
    {
        _queue = Channel.CreateBounded<ProxyExchange>(new BoundedChannelOptions(options.Value.WriteQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveQueueDepth(() => _queue.Reader.Count);
    }

    /// <summary>Raised on the request path when a request starts. Handlers must be quick and must not throw.</summary>
    public event Action<ProxyExchange>? RequestStarted;

    public ChannelReader<ProxyExchange> Reader => _queue.Reader;

    public long Dropped => Interlocked.Read(ref _dropped);

    public int Pending => _queue.Reader.Count;

    /// <summary>Requests that started and are not yet queued for writing.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void Started(ProxyExchange exchange)
    {
        Interlocked.Increment(ref _inFlight);
        RequestStarted?.Invoke(exchange);
    }

    public void Completed(ProxyExchange exchange)
    {
        try
        {
            Enqueue(exchange);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void Enqueue(ProxyExchange exchange)
    {
        if (_queue.Writer.TryWrite(exchange))
        {
            return;
        }
        Interlocked.Increment(ref _dropped);
        _metrics.RecordsDropped.Add(1);
        Log.RequestRecordDropped(_logger, exchange.Id);
        exchange.Release();
    }

    public void Complete() => _queue.Writer.TryComplete();
}
