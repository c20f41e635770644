namespace Ccflare.Recording;

/// <summary>
/// A live request event, ccflare's four kinds: <c>ingress</c> (the request arrived), <c>start</c> (the upstream's
/// status is known and about to be sent), <c>summary</c> (the history row was written) and <c>payload</c> (the
/// row's payload was written with it). <see cref="Record"/> is set for the last two.
/// </summary>
internal sealed record RequestLiveEvent(
    string Type, string Id, DateTimeOffset Timestamp, string Method, string Path, string? Provider, string? AccountId, int? StatusCode,
    RequestRecord? Record);

/// <summary>
/// Publishes request events to <c>/api/requests/stream</c> subscribers.
/// Created on first use; costs the proxy nothing (one array length check) while nobody listens.
/// </summary>
internal sealed class RequestEvents
{
    public const string Ingress = "ingress";
    public const string Start = "start";
    public const string Summary = "summary";
    public const string Payload = "payload";

    public RequestEvents(RequestRecorder recorder, RequestWriter writer)
    {
        recorder.RequestStarted += OnIngress;
        recorder.ResponseStarted += OnResponding;
        writer.RecordWritten += OnWritten;
    }

    public LiveEvents<RequestLiveEvent> Live { get; } = new();

    private void OnIngress(ProxyExchange exchange)
    {
        if (Live.HasSubscribers)
        {
            Live.Publish(new RequestLiveEvent(Ingress, exchange.Id, exchange.Timestamp, exchange.Method, exchange.Path, exchange.Provider, null, null, null));
        }
    }

    private void OnResponding(ProxyExchange exchange)
    {
        if (Live.HasSubscribers)
        {
            Live.Publish(new RequestLiveEvent(Start, exchange.Id, exchange.Timestamp, exchange.Method, exchange.Path, exchange.Provider,
                exchange.Account?.Id, exchange.StatusCode, null));
        }
    }

    private void OnWritten(RequestRecord record)
    {
        if (Live.HasSubscribers)
        {
            Live.Publish(new RequestLiveEvent(Summary, record.Id, record.Timestamp, record.Method, record.Path, record.Provider, record.AccountUsed, record.StatusCode, record));
            if (record.Payload is not null)
            {
                Live.Publish(new RequestLiveEvent(Payload, record.Id, record.Timestamp, record.Method, record.Path, record.Provider, record.AccountUsed, record.StatusCode, record));
            }
        }
    }
}
