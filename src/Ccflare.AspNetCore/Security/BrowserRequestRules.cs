using Ccflare.Diagnostics;
using Ccflare.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Ccflare.Security;

/// <summary>Which rule set <see cref="BrowserRequestRules"/> applies to a group.</summary>
internal enum BrowserSurface
{
    /// <summary>The management API, its streams, the dashboard and the OAuth callback: the server's own origin is admitted.</summary>
    Management,

    /// <summary>The proxy routes: only listed origins are admitted.</summary>
    Proxy,
}

/// <summary>
/// What a browser may do with Ccflare, checked before anything else on a route:
/// <list type="number">
/// <item>A request from a loopback peer must name a loopback host (<c>localhost</c>, <c>127.0.0.1</c>,
/// <c>[::1]</c>) or one of <see cref="CcflareOptions.AllowedHosts"/>; another name means a DNS name rebound
/// to this machine (403). Matching is ASP.NET Core's host-filtering rule (<see cref="HostString.MatchesAny"/>).</item>
/// <item>A request with an <c>Origin</c> is admitted only from a listed origin (<see cref="CcflareOptions.AllowedOrigins"/>)
/// or, on the management surface, from the server's own origin. A request without one but with
/// <c>Sec-Fetch-Site: cross-site</c> (a no-cors fetch, an image, a frame) is refused too, except a top-level
/// <c>GET</c> navigation to the management surface, which only shows the page to the user.</item>
/// <item>Listed origins get CORS answers (preflights included) from ASP.NET Core's <see cref="ICorsService"/>.</item>
/// <item>A request carrying the hop marker came back from a Ccflare (itself or another) through an account's base URL: 508.</item>
/// </list>
/// Requests without <c>Origin</c> or <c>Sec-Fetch-*</c> headers (SDKs, Claude Code, curl) pass unchanged.
/// </summary>
internal static class BrowserRequestRules
{
    private static readonly StringSegment[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    public static TBuilder RequireCcflareBrowserRules<TBuilder>(this TBuilder builder, BrowserSurface surface) where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(endpoint =>
        {
            if (endpoint.RequestDelegate is not { } next)
            {
                return;
            }
            var services = endpoint.ApplicationServices;
            var settings = services.GetRequiredService<BrowserRequestSettings>();
            var cors = services.GetRequiredService<ICorsService>();
            var logger = services.GetRequiredService<ILogger<BrowserRequestRulesMarker>>();
            endpoint.RequestDelegate = context =>
            {
                var refusal = Evaluate(context, settings, surface);
                if (refusal is not null)
                {
                    Log.BrowserRequestRefused(logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, refusal.Reason);
                    return JsonErrors.WriteAsync(context, refusal.StatusCode, refusal.Message);
                }
                if (context.Request.Headers.Origin.Count == 0)
                {
                    return next(context);
                }
                // The origin is listed (or is the server's own): answer CORS as the framework does.
                var result = cors.EvaluatePolicy(context, settings.CorsPolicy);
                cors.ApplyResult(result, context.Response);
                if (result.IsPreflightRequest)
                {
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return Task.CompletedTask;
                }
                return next(context);
            };
        });
        return builder;
    }

    internal static ManagementAccess.Refusal? Evaluate(HttpContext context, BrowserRequestSettings settings, BrowserSurface surface)
    {
        var request = context.Request;
        if (ManagementAccess.IsLocal(context.Connection.RemoteIpAddress) && !IsAllowedHost(request.Host, settings.HostPatterns))
        {
            return new ManagementAccess.Refusal(StatusCodes.Status403Forbidden,
                $"Host '{request.Host.Value}' is not allowed for requests from this machine. Add it to Ccflare:AllowedHosts if it is meant to reach Ccflare.",
                "foreign host from loopback");
        }
        // On the management surface too: an account pointed at /api would otherwise open it to proxy callers.
        if (HopMarker.IsPresent(request.Headers))
        {
            return new ManagementAccess.Refusal(StatusCodes.Status508LoopDetected,
                "This request was already forwarded by a Ccflare instance; forwarding it again would loop. Check the base_url of the account that sent it.",
                "hop marker present");
        }
        var origin = request.Headers.Origin;
        if (origin.Count > 0)
        {
            var value = origin.ToString();
            if (settings.IsAllowedOrigin(value) || (surface == BrowserSurface.Management && IsOwnOrigin(value, request)))
            {
                return null;
            }
            return new ManagementAccess.Refusal(StatusCodes.Status403Forbidden,
                $"Requests from the web origin '{value}' are refused. Add it to Ccflare:AllowedOrigins if it is meant to call Ccflare.",
                "foreign origin");
        }
        var site = request.Headers["Sec-Fetch-Site"];
        if (site.Count == 0)
        {
            return null;
        }
        var crossSite = string.Equals(site.ToString(), "cross-site", StringComparison.OrdinalIgnoreCase);
        var sameSite = string.Equals(site.ToString(), "same-site", StringComparison.OrdinalIgnoreCase);
        var refuse = surface == BrowserSurface.Proxy
            ? crossSite || sameSite
            : crossSite && !IsTopLevelNavigation(request);
        return refuse
            ? new ManagementAccess.Refusal(StatusCodes.Status403Forbidden,
                "Cross-site browser requests are refused. Add the calling origin to Ccflare:AllowedOrigins if it is meant to call Ccflare.",
                "cross-site request without origin")
            : null;
    }

    internal static bool IsAllowedHost(HostString host, IList<StringSegment> patterns)
    {
        if (!host.HasValue)
        {
            // HTTP/1.0 without Host; no browser sends that.
            return true;
        }
        try
        {
            return HostString.MatchesAny(new StringSegment(host.Value), patterns);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsTopLevelNavigation(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && string.Equals(request.Headers["Sec-Fetch-Mode"].ToString(), "navigate", StringComparison.OrdinalIgnoreCase)
        && request.Headers["Sec-Fetch-Dest"].ToString() is "document" or "";

    private static bool IsOwnOrigin(string origin, HttpRequest request) =>
        request.Host.HasValue
        && OriginText.TryNormalize(origin, out var presented)
        && OriginText.TryNormalize(request.Scheme + "://" + request.Host.Value, out var own)
        && string.Equals(presented, own, StringComparison.Ordinal);

    internal static IList<StringSegment> BuildHostPatterns(IEnumerable<string> allowed)
    {
        var patterns = new List<StringSegment>(LoopbackHosts);
        foreach (var host in allowed)
        {
            patterns.Add(new StringSegment(host.Trim()));
        }
        return patterns;
    }
}

/// <summary>Logger category for browser-request refusals.</summary>
internal sealed class BrowserRequestRulesMarker;

/// <summary>The browser settings, parsed once at start-up.</summary>
internal sealed class BrowserRequestSettings
{
    private readonly HashSet<string> _origins = new(StringComparer.Ordinal);

    public BrowserRequestSettings(IOptions<CcflareOptions> options)
    {
        var value = options.Value;
        HostPatterns = BrowserRequestRules.BuildHostPatterns(value.AllowedHosts);
        foreach (var origin in value.AllowedOrigins)
        {
            if (OriginText.TryNormalize(origin, out var normalized))
            {
                _origins.Add(normalized);
            }
        }
        var cors = new CorsPolicyBuilder()
            .SetIsOriginAllowed(IsAllowedOrigin)
            .AllowAnyHeader()
            .AllowAnyMethod()
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        CorsPolicy = cors.Build();
    }

    public IList<StringSegment> HostPatterns { get; }

    public CorsPolicy CorsPolicy { get; }

    public bool IsAllowedOrigin(string origin) => OriginText.TryNormalize(origin, out var normalized) && _origins.Contains(normalized);
}

/// <summary>Web origins in one spelling: lower-case scheme and host, the port only when it is not the scheme's default.</summary>
internal static class OriginText
{
    public static bool TryNormalize(string value, out string normalized)
    {
        normalized = string.Empty;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.UserInfo)
            || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return false;
        }
        // Uri lower-cases the scheme and host and keeps IPv6 brackets in Host.
        normalized = uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
        return true;
    }
}

/// <summary>
/// The <c>Via</c> entry every forwarded request carries (<c>Via: 1.1 ccflare</c>, RFC 9110 section 7.6.3), so a
/// request that comes back to a Ccflare, directly or through other proxies that keep <c>Via</c>, is recognised as a loop.
/// </summary>
internal static class HopMarker
{
    public const string Pseudonym = "ccflare";

    /// <summary>Adds this hop to the outgoing request's <c>Via</c> (after the client's own entries, which are forwarded).</summary>
    public static void Add(HttpRequestMessage request, string receivedProtocol)
    {
        var entry = receivedProtocol switch
        {
            "HTTP/2" => "2 " + Pseudonym,
            "HTTP/3" => "3 " + Pseudonym,
            "HTTP/1.0" => "1.0 " + Pseudonym,
            _ => "1.1 " + Pseudonym,
        };
        request.Headers.TryAddWithoutValidation(HeaderNames.Via, entry);
    }

    /// <summary>True when a <c>Via</c> entry names Ccflare as the receiving proxy.</summary>
    public static bool IsPresent(IHeaderDictionary headers)
    {
        foreach (var value in headers.Via)
        {
            if (value is null)
            {
                continue;
            }
            foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // received-protocol SP received-by [ SP comment ]
                var parts = entry.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && parts[1].Equals(Pseudonym, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
