using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ccflare.Security;

/// <summary>
/// Kestrel limits for a server whose main job is Ccflare (the StandaloneServer applies them).
/// The library does not impose them on embedding hosts: Kestrel belongs to the host.
/// </summary>
internal static class CcflareKestrelLimits
{
    public const int MaxRequestHeadersTotalSize = 64 * 1024;
    public const int MaxRequestLineSize = 16 * 1024;
    public const int MaxRequestHeaderCount = 100;
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(120);
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(30);

    public static void Apply(KestrelServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddServerHeader = false;
        var limits = options.Limits;
        // Large enough for long anthropic-beta lists and OAuth bearer tokens; small enough to bound memory per connection.
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
        limits.MaxRequestLineSize = MaxRequestLineSize;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.KeepAliveTimeout = KeepAliveTimeout;
        // Slow-loris: the whole header block must arrive within 30 s.
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        // Bodies that trickle slower than 240 B/s (after a 5 s grace) are cut off.
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        limits.Http2.MaxRequestHeaderFieldSize = MaxRequestHeadersTotalSize;
        // Proxy bodies are capped per request by Ccflare:MaxRequestBodyBytes; management bodies by ManagementJson.
        limits.MaxRequestBodySize = 32L * 1024 * 1024;
    }
}
