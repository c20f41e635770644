using System.Collections.Frozen;
using Ccflare.Providers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ccflare.Proxy;

/// <summary>Which headers cross the proxy, in each direction.</summary>
internal static class HeaderRules
{
    /// <summary>
    /// Client headers that carry the client's own credentials or cookies, for any provider. They never reach
    /// an upstream: Ccflare injects the account's credential instead.
    /// </summary>
    public static readonly FrozenSet<string> ClientCredentialHeaders = FrozenSet.ToFrozenSet(
    [
        "authorization", "x-api-key", "proxy-authorization", "cookie", "anthropic-api-key", "x-goog-api-key", "api-key",
    ], StringComparer.OrdinalIgnoreCase);

    // Hop-by-hop and transport headers, and Ccflare's internal headers.
    private static readonly FrozenSet<string> RequestDropped = FrozenSet.ToFrozenSet(
    [
        "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "content-length", "expect", "accept-encoding", "x-ccflare-user-id",
    ], StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> ResponseDropped = FrozenSet.ToFrozenSet(
    [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "upgrade", "te",
    ], StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> Sensitive = FrozenSet.ToFrozenSet(
    [
        "authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie", "x-ccflare-user-id", "anthropic-api-key", "x-goog-api-key", "api-key",
    ], StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether a client header may cross to any upstream; the provider then applies its own rule.</summary>
    public static bool ForwardRequestHeader(string name) =>
        !RequestDropped.Contains(name) && !ClientCredentialHeaders.Contains(name) && !name.StartsWith("x-ccflare-", StringComparison.OrdinalIgnoreCase);

    public static bool ForwardResponseHeader(string name) => !ResponseDropped.Contains(name);

    /// <summary>True for headers whose values are credentials and must be masked when stored or shown.</summary>
    public static bool IsSensitive(string name) =>
        Sensitive.Contains(name)
        || name.Contains("token", StringComparison.OrdinalIgnoreCase)
        || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || name.Contains("api-key", StringComparison.OrdinalIgnoreCase);

    /// <summary>Masks a credential, keeping a short prefix so an operator can tell keys apart.</summary>
    public static string Mask(string value)
    {
        if (value.Length <= 12)
        {
            return "***";
        }
        var bearer = value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? 7 : 0;
        return string.Concat(value.AsSpan(0, bearer + Math.Min(6, (value.Length - bearer) / 4)), "***");
    }

    public static void CopyRequestHeaders(IHeaderDictionary source, HttpRequestMessage destination, UpstreamProvider provider, HeaderPolicy? policy = null)
    {
        var extraDropped = policy?.DroppedRequestHeaders;
        foreach (var (name, value) in source)
        {
            if (!ForwardRequestHeader(name) || !provider.ForwardsClientHeader(name) || (extraDropped is not null && extraDropped.Contains(name)))
            {
                continue;
            }
            if (value.Count == 1)
            {
                if (!destination.Headers.TryAddWithoutValidation(name, value.ToString()))
                {
                    destination.Content?.Headers.TryAddWithoutValidation(name, value.ToString());
                }
            }
            else if (!destination.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value))
            {
                destination.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
            }
        }
    }

    public static void CopyResponseHeaders(HttpResponseMessage source, IHeaderDictionary destination, HeaderPolicy? policy = null)
    {
        var extraDropped = policy?.DroppedResponseHeaders;
        foreach (var header in source.Headers.NonValidated)
        {
            if (ForwardResponseHeader(header.Key) && (extraDropped is null || !extraDropped.Contains(header.Key)))
            {
                destination[header.Key] = ToStringValues(header.Value);
            }
        }
        foreach (var header in source.Content.Headers.NonValidated)
        {
            if (ForwardResponseHeader(header.Key) && (extraDropped is null || !extraDropped.Contains(header.Key)))
            {
                destination[header.Key] = ToStringValues(header.Value);
            }
        }
    }

    private static StringValues ToStringValues(System.Net.Http.Headers.HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return new StringValues(values.ToString());
        }
        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }
        return new StringValues(array);
    }

    public static KeyValuePair<string, string>[] Capture(HttpRequestMessage request, HeaderPolicy? policy = null)
    {
        var headers = request.Headers.NonValidated;
        var content = request.Content?.Headers.NonValidated;
        var captured = new KeyValuePair<string, string>[headers.Count + (content?.Count ?? 0)];
        var i = Copy(headers, captured, 0, policy);
        if (content is { } contentHeaders)
        {
            Copy(contentHeaders, captured, i, policy);
        }
        return captured;
    }

    private static string Captured(string name, string value, HeaderPolicy? policy) =>
        policy is not null && policy.MaskedHeaders.Contains(name) ? Mask(value) : value;

    public static KeyValuePair<string, string>[] Capture(HttpResponseMessage response, HeaderPolicy? policy = null)
    {
        var headers = response.Headers.NonValidated;
        var content = response.Content.Headers.NonValidated;
        var captured = new KeyValuePair<string, string>[headers.Count + content.Count];
        Copy(content, captured, Copy(headers, captured, 0, policy), policy);
        return captured;
    }

    private static int Copy(System.Net.Http.Headers.HttpHeadersNonValidated headers, KeyValuePair<string, string>[] destination, int index, HeaderPolicy? policy)
    {
        foreach (var header in headers)
        {
            destination[index++] = new(header.Key, Captured(header.Key, header.Value.ToString(), policy));
        }
        return index;
    }
}

/// <summary>The host's extra header rules (<see cref="CcflareOptions.Headers"/>), frozen at start-up.</summary>
internal sealed class HeaderPolicy(HeaderOptions options)
{
    public FrozenSet<string> DroppedRequestHeaders { get; } = options.DropRequestHeaders.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public FrozenSet<string> DroppedResponseHeaders { get; } = options.DropResponseHeaders.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public FrozenSet<string> MaskedHeaders { get; } = options.MaskHeaders.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
