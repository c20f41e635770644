using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Dashboard.Tests;

/// <summary>How the embedded dashboard is served: content types, caching, base href, SPA routes, protection.</summary>
public sealed partial class DashboardServingTests
{
    [Fact]
    public async Task Index_is_html_not_cached_with_base_href_and_hashed_assets_are_immutable_with_etags()
    {
        await using var host = await CcflareTestHost.StartAsync();
        using var index = await host.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        Assert.True(index.Headers.CacheControl!.NoCache);
        Assert.Equal("nosniff", index.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("default-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await index.Content.ReadAsStringAsync();
        Assert.Contains("<base href=\"/\">", html, StringComparison.Ordinal);

        var script = ScriptSrc().Match(html).Groups[1].Value;
        var style = StyleHref().Match(html).Groups[1].Value;
        Assert.Matches("^\\./assets/index-[A-Za-z0-9_-]+\\.js$", script);
        Assert.Matches("^\\./assets/index-[A-Za-z0-9_-]+\\.css$", style);

        using var js = await host.Client.GetAsync(script[1..]);
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", js.Headers.CacheControl!.ToString());
        var etag = js.Headers.ETag!;
        Assert.False(string.IsNullOrEmpty(etag.Tag));
        Assert.True((await js.Content.ReadAsByteArrayAsync()).Length > 1000);

        using var css = await host.Client.GetAsync(style[1..]);
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, script[1..]);
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await host.Client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var other = new HttpRequestMessage(HttpMethod.Get, script[1..]);
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\""));
        using var changed = await host.Client.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);

        using var head = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using var missing = await host.Client.GetAsync("/assets/nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/json", missing.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("", "/accounts", "/")]
    [InlineData("", "/requests/some-id", "/")]
    [InlineData("/llm", "/llm", "/llm/")]
    [InlineData("/llm", "/llm/", "/llm/")]
    [InlineData("/llm", "/llm/analytics", "/llm/")]
    [InlineData("/llm", "/llm/logs/", "/llm/")]
    [InlineData("/llm/gw", "/llm/gw/strategy/x/y", "/llm/gw/")]
    public async Task Client_routes_fall_back_to_index_with_the_mount_base(string prefix, string path, string expectedBase)
    {
        await using var host = await CcflareTestHost.StartAsync(map: app => app.MapCcflare(prefix));
        using var response = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"<base href=\"{expectedBase}\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_paths_and_the_api_are_not_swallowed_by_the_dashboard()
    {
        await using var host = await CcflareTestHost.StartAsync(map: app => app.MapCcflare("/llm"));
        using var unknown = await host.Client.GetAsync("/llm/not-a-page");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var api = await host.Client.GetAsync("/llm/api/accounts");
        Assert.Equal("application/json", api.Content.Headers.ContentType!.MediaType);
        using var outside = await host.Client.GetAsync("/accounts");
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
    }

    [Fact]
    public async Task Host_can_protect_the_dashboard_group_and_map_it_alone()
    {
        await using var host = await CcflareTestHost.StartAsync(map: app =>
        {
            var endpoints = app.MapCcflare("/gw");
            endpoints.Dashboard.AddEndpointFilter((context, next) =>
                context.HttpContext.Request.Headers.ContainsKey("x-operator") ? next(context) : ValueTask.FromResult<object?>(Results.StatusCode(StatusCodes.Status403Forbidden)));
            app.MapCcflareDashboard("/ops");
        });
        using var denied = await host.Client.GetAsync("/gw/");
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        using var deniedAsset = await host.Client.GetAsync("/gw/assets/x.js");
        Assert.Equal(HttpStatusCode.Forbidden, deniedAsset.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/gw/accounts");
        request.Headers.Add("x-operator", "yes");
        using var allowed = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);

        using var alone = await host.Client.GetAsync("/ops/requests");
        Assert.Contains("<base href=\"/ops/\">", await alone.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("<script[^>]+src=\"([^\"]+)\"")]
    private static partial Regex ScriptSrc();

    [GeneratedRegex("<link[^>]+rel=\"stylesheet\"[^>]+href=\"([^\"]+)\"")]
    private static partial Regex StyleHref();
}
