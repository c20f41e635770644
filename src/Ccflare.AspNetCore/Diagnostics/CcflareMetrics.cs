using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ccflare.Diagnostics;

/// <summary>The <c>Ccflare</c> meter and activity source.</summary>
internal sealed class CcflareMetrics : IDisposable
{
    public const string Name = "Ccflare";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    public CcflareMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        Requests = _meter.CreateCounter<long>("ccflare.requests", "{request}", "Proxied requests, by provider and status code.");
        Failovers = _meter.CreateCounter<long>("ccflare.failovers", "{failover}", "Times a request moved on to another account.");
        RateLimitEvents = _meter.CreateCounter<long>("ccflare.rate_limit.events", "{event}", "Hard rate limits reported by upstreams.");
        RecordsDropped = _meter.CreateCounter<long>("ccflare.write_queue.dropped", "{record}", "Request records dropped because the write queue was full.");
        ProxyOverhead = _meter.CreateHistogram<double>("ccflare.proxy.overhead", "ms", "Time spent in Ccflare itself (total minus upstream wait).");
        TokenUsage = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used, by type.");
        OperationDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of GenAI operations.");
    }

    public Counter<long> Requests { get; }

    public Counter<long> Failovers { get; }

    public Counter<long> RateLimitEvents { get; }

    public Counter<long> RecordsDropped { get; }

    public Histogram<double> ProxyOverhead { get; }

    public Histogram<long> TokenUsage { get; }

    public Histogram<double> OperationDuration { get; }

    internal void ObserveQueueDepth(Func<int> depth) =>
        _meter.CreateObservableGauge("ccflare.write_queue.depth", depth, "{record}", "Records waiting to be written.");

    public void Dispose() => _meter.Dispose();
}
