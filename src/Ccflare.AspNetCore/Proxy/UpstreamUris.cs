using Microsoft.AspNetCore.Http;

namespace Ccflare.Proxy;

/// <summary>
/// Upstream URIs; without a query string they come from a small cache, since nearly every
/// request goes to one of a few (base URL, path) pairs and parsing a Uri is not free.
/// </summary>
internal sealed class UpstreamUris
{
    private const int MaxCached = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string BaseUrl, string Path), Uri> _cache = new();

    public Uri Get(string baseUrl, string path, QueryString query)
    {
        if (query.HasValue)
        {
            return Build(baseUrl, path, query);
        }
        if (_cache.TryGetValue((baseUrl, path), out var cached))
        {
            return cached;
        }
        var uri = Build(baseUrl, path, query);
        if (_cache.Count < MaxCached)
        {
            _cache.TryAdd((baseUrl, path), uri);
        }
        return uri;
    }

    internal static Uri Build(string baseUrl, string path, QueryString query)
    {
        var trimmed = baseUrl.EndsWith('/') ? baseUrl[..^1] : baseUrl;
        var escapedPath = new PathString(path).ToUriComponent();
        return new Uri(string.Concat(trimmed, escapedPath, query.Value), UriKind.Absolute);
    }
}
