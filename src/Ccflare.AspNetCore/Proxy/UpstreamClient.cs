namespace Ccflare.Proxy;

/// <summary>
/// The named <see cref="HttpClient"/> registration Ccflare uses to reach upstreams. The proxy does
/// not create an <see cref="HttpClient"/> per request: it takes the handler chain of this name
/// from <see cref="IHttpMessageHandlerFactory"/> once and sends through one
/// <see cref="HttpMessageInvoker"/> (the handler lifetime is infinite, so it is never rotated).
/// </summary>
internal static class UpstreamClient
{
    public const string Name = "Ccflare.Upstream";

    /// <summary>
    /// One pooled connection handler for every upstream. HTTP/1.1 is requested with
    /// <see cref="HttpVersionPolicy.RequestVersionOrHigher"/>, so TLS upstreams that offer HTTP/2
    /// through ALPN (the Anthropic and OpenAI APIs) get it, with several connections when one is full.
    /// No <c>traceparent</c> is sent upstream (<see cref="SocketsHttpHandler.ActivityHeadersPropagator"/>
    /// is null): the trace stays inside the host, and the handler skips its per-request diagnostics
    /// activity. Ccflare's own <c>ccflare.proxy</c> activity covers the upstream call.
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(15),
        EnableMultipleHttp2Connections = true,
        MaxConnectionsPerServer = int.MaxValue,
        ActivityHeadersPropagator = null,
    };

    /// <summary>The invoker the proxy sends through: the registered handler chain, without a per-request <see cref="HttpClient"/>.</summary>
    public static HttpMessageInvoker CreateInvoker(IHttpMessageHandlerFactory factory) =>
        new(factory.CreateHandler(Name), disposeHandler: false);
}
