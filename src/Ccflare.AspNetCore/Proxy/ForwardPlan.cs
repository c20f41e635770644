using Ccflare.Providers;

namespace Ccflare.Proxy;

/// <summary>What to forward: the providers to draw accounts from (in order), the upstream path and the body.</summary>
internal sealed record ForwardPlan(IReadOnlyList<UpstreamProvider> Providers, string UpstreamPath, RequestBodyBuffer Body)
{
    /// <summary>
    /// Optional per-provider rewriting (compat routes, upstreams with wire requirements): the body
    /// and path to send and a translator for the response. Null when <see cref="Body"/> goes untouched.
    /// </summary>
    public IForwardAdapter? Adapter { get; init; }
}

/// <summary>Adapts one forwarded request to the provider an attempt goes to.</summary>
internal interface IForwardAdapter
{
    /// <summary>The body and upstream path for <paramref name="provider"/>; called once per attempt.</summary>
    AdaptedRequest PrepareRequest(UpstreamProvider provider);

    /// <summary>Adds or fixes headers after the client's headers were copied and before credentials are injected.</summary>
    void PrepareHeaders(UpstreamProvider provider, HttpRequestMessage request);

    /// <summary>A translator for the response body, or null to copy it untouched.</summary>
    IResponseTranslator? CreateResponseTranslator(UpstreamProvider provider, int statusCode, bool isEventStream);
}

/// <summary>
/// The body and path sent to one provider. <see cref="ForwardQuery"/> is false when the client's
/// query string belongs to another family's API (Anthropic's <c>?beta=true</c> means nothing to OpenAI).
/// </summary>
internal readonly record struct AdaptedRequest(ReadOnlyMemory<byte> Body, string UpstreamPath, bool ForwardQuery = true);

/// <summary>
/// Rewrites an upstream response body into the client's schema as chunks arrive. The proxy
/// still captures the upstream bytes and flushes after each chunk when streaming.
/// </summary>
internal interface IResponseTranslator : IDisposable
{
    /// <summary>The content type of the translated body.</summary>
    string ContentType { get; }

    /// <summary>Consumes one upstream chunk and writes whatever translated output it completes.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, Stream client, CancellationToken cancellationToken);

    /// <summary>Called once the upstream body ended; writes what remains.</summary>
    ValueTask CompleteAsync(Stream client, CancellationToken cancellationToken);
}

internal static class ProxyContextKeys
{
    public const string UserId = "Ccflare.UserId";
}

/// <summary>Boxed status codes, so tagging a metric or activity with one does not allocate.</summary>
internal static class BoxedStatus
{
    private static readonly object[] Codes = Create();

    public static object? Get(int? status) => status is { } code && (uint)code < (uint)Codes.Length ? Codes[code] : status;

    private static object[] Create()
    {
        var codes = new object[600];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = i;
        }
        return codes;
    }
}
