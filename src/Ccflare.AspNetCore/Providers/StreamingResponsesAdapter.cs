using Ccflare.Compat.Translation;
using Ccflare.Proxy;

namespace Ccflare.Providers;

/// <summary>
/// A native-route Responses request to an upstream that only streams and never stores: the body is
/// sent with <c>stream: true, store: false</c>, and a client that did not ask for a stream gets the
/// assembled final response object instead of the events.
/// </summary>
internal sealed class StreamingResponsesAdapter : IForwardAdapter
{
    private readonly AdaptedRequest _request;
    private readonly bool _clientStreams;

    private StreamingResponsesAdapter(AdaptedRequest request, bool clientStreams)
    {
        _request = request;
        _clientStreams = clientStreams;
    }

    /// <summary>An adapter for <paramref name="body"/>, or null when it already streams unstored.</summary>
    public static StreamingResponsesAdapter? CreateIfNeeded(string upstreamPath, ReadOnlyMemory<byte> body)
    {
        if (StreamingUnstored.IsSatisfied(body.Span))
        {
            return null;
        }
        try
        {
            using var document = Http.LargeJsonDocuments.Parse(body);
            var clientStreams = StreamingUnstored.ClientStreams(document.RootElement);
            return new StreamingResponsesAdapter(new AdaptedRequest(StreamingUnstored.Apply(body.Span), upstreamPath), clientStreams);
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a body it can rewrite: the upstream answers it as sent.
            return null;
        }
    }

    public AdaptedRequest PrepareRequest(UpstreamProvider provider) => _request;

    public void PrepareHeaders(UpstreamProvider provider, HttpRequestMessage request)
    {
    }

    public IResponseTranslator? CreateResponseTranslator(UpstreamProvider provider, int statusCode, bool isEventStream) =>
        !_clientStreams && isEventStream && statusCode < 400 ? new ResponsesStreamAssembler() : null;
}
