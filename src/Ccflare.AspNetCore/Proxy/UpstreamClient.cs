namespace Ccflare.Proxy;

/// <summary>The named <see cref="HttpClient"/> Ccflare uses to reach upstreams.</summary>
internal static class UpstreamClient
{
    public const string Name = "Ccflare.Upstream";

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
    };
}
