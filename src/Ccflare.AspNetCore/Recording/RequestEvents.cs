namespace Ccflare.Recording;

/// <summary>A live request event: <c>start</c> (request arrived) or <c>summary</c> (its record was written).</summary>
internal sealed record RequestLiveEvent(string Type, string Id, DateTimeOffset Timestamp, string Method, string Path, string? Provider, RequestRecord? Record);

/// <summary>
/// Publishes request start and finish events to <c>/api/requests/stream</c> subscribers.
/// Created on first use; costs the proxy nothing (one array length check) while nobody listens.
/// </summary>
internal sealed class RequestEvents
{
    public RequestEvents(RequestRecorder recorder, RequestWriter writer)
    {
        recorder.RequestStarted += OnStarted;
        writer.RecordWritten += OnWritten;
    }

    public LiveEvents<RequestLiveEvent> Live { get; } = new();

    private void OnStarted(ProxyExchange exchange)
    {
        if (Live.HasSubscribers)
        {
            Live.Publish(new RequestLiveEvent("start", exchange.Id, exchange.Timestamp, exchange.Method, exchange.Path, exchange.Provider, null));
        }
    }

    private void OnWritten(RequestRecord record)
    {
        if (Live.HasSubscribers)
        {
            Live.Publish(new RequestLiveEvent("summary", record.Id, record.Timestamp, record.Method, record.Path, record.Provider, record));
        }
    }
}
