using System.Text;
using System.Text.Encodings.Web;
using Ccflare.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Ccflare.Dashboard;

/// <summary>
/// Serves the embedded single-page dashboard: <c>/</c> (index.html with an injected
/// <c>&lt;base href&gt;</c> so every link and API call is relative to the mount prefix),
/// <c>/assets/*</c> (content-hashed, cached for a year), and the client-side routes
/// (<c>/accounts</c>, <c>/requests</c>, ...) which all answer with index.html.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>The dashboard's client-side pages, besides the overview at <c>/</c>.</summary>
    public static readonly string[] Pages = ["accounts", "requests", "analytics", "logs", "strategy"];

    private const string BaseMarker = "<head>";

    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'";

    private static readonly string[] GetHead = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(RouteGroupBuilder dashboard)
    {
        dashboard.MapMethods("/", GetHead, static (HttpContext context) => ServeIndexAsync(context, string.Empty))
            .WithDisplayName("Ccflare dashboard");
        foreach (var page in Pages)
        {
            var route = "/" + page;
            dashboard.MapMethods(route, GetHead, (HttpContext context) => ServeIndexAsync(context, route))
                .WithDisplayName("Ccflare dashboard " + page);
            dashboard.MapMethods(route + "/{**rest}", GetHead, (HttpContext context, string? rest) =>
                    ServeIndexAsync(context, string.IsNullOrEmpty(rest) ? route : route + "/" + rest))
                .WithDisplayName("Ccflare dashboard " + page);
        }
        dashboard.MapMethods("/assets/{**file}", GetHead, static (HttpContext context, string? file) => ServeAssetAsync(context, "assets/" + file))
            .WithDisplayName("Ccflare dashboard assets");
    }

    private static Task ServeIndexAsync(HttpContext context, string routeSuffix)
    {
        var index = DashboardAssets.Find("index.html");
        if (index is null)
        {
            return JsonErrors.WriteAsync(context, StatusCodes.Status404NotFound, "The dashboard was not built into this Ccflare assembly.");
        }
        var html = Encoding.UTF8.GetString(index.Content);
        var baseTag = $"<base href=\"{HtmlEncoder.Default.Encode(BasePath(context, routeSuffix))}\">";
        var at = html.IndexOf(BaseMarker, StringComparison.OrdinalIgnoreCase);
        html = at < 0 ? baseTag + html : html.Insert(at + BaseMarker.Length, baseTag);

        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        var headers = response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers["Referrer-Policy"] = "no-referrer";
        var bytes = Encoding.UTF8.GetBytes(html);
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }

    private static Task ServeAssetAsync(HttpContext context, string path)
    {
        var asset = DashboardAssets.Find(path);
        if (asset is null || path.Contains("..", StringComparison.Ordinal))
        {
            return JsonErrors.WriteAsync(context, StatusCodes.Status404NotFound, "Not found.");
        }
        var response = context.Response;
        var headers = response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = asset.Immutable ? "public, max-age=31536000, immutable" : "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (IsNotModified(context.Request, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(asset.Content, context.RequestAborted).AsTask();
    }

    private static bool IsNotModified(HttpRequest request, string etag)
    {
        var values = request.Headers.IfNoneMatch;
        if (values.Count == 0)
        {
            return false;
        }
        if (!EntityTagHeaderValue.TryParseList(values, out var tags))
        {
            return false;
        }
        var ours = new EntityTagHeaderValue(etag);
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(ours, useStrongComparison: false))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The URL path of the dashboard's root (always ending in '/'): the request path minus the client route.</summary>
    internal static string BasePath(HttpContext context, string routeSuffix)
    {
        var trimmed = (context.Request.Path.Value ?? "/").TrimEnd('/');
        var suffix = routeSuffix.TrimEnd('/');
        if (suffix.Length > 0)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed[..^suffix.Length];
            }
            else
            {
                // Unusual encoding of the rest: cut at the page segment itself.
                var page = suffix.IndexOf('/', 1) is var slash and > 0 ? suffix[..slash] : suffix;
                var cut = trimmed.LastIndexOf(page, StringComparison.OrdinalIgnoreCase);
                trimmed = cut >= 0 ? trimmed[..cut] : string.Empty;
            }
        }
        return context.Request.PathBase.Add(new PathString(trimmed + "/")).ToUriComponent();
    }
}
