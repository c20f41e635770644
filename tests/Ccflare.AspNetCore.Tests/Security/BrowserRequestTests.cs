using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Security;

/// <summary>
/// What a browser page can do with Ccflare on loopback: a DNS-rebound name (foreign <c>Host</c>), a cross-site page
/// (foreign <c>Origin</c>, <c>Sec-Fetch-Site: cross-site</c>, forms and <c>text/plain</c> bodies), and the origins and
/// hosts an operator lists. Real Kestrel on 127.0.0.1; requests are sent exactly as a browser would send them.
/// </summary>
public sealed class BrowserRequestTests : IAsyncLifetime
{
    private const string AccountKey = "sk-ant-browser-tests-key";
    private const string Foreign = "https://evil.example";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static HttpRequestMessage Request(HttpMethod method, string path, string? json = null, string? origin = null, string? fetchSite = null, string? host = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }
        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
            request.Headers.Add("Sec-Fetch-Mode", "cors");
        }
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        return request;
    }

    private static async Task<string> AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string setting)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Contains(setting, ErrorJson.AssertError(body), StringComparison.Ordinal);
        return body;
    }

    private static string MessagesBody => """{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task A_foreign_host_from_loopback_is_refused_on_the_api_the_dashboard_the_callback_and_the_proxy()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("rebind-target", "anthropic", AccountKey, _upstream.BaseUrl);

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/api/accounts"),
            (HttpMethod.Get, "/api/requests"),
            (HttpMethod.Get, "/api/logs/stream"),
            (HttpMethod.Get, "/"),
            (HttpMethod.Get, "/accounts"),
            (HttpMethod.Get, "/oauth/anthropic/callback?code=c&state=s"),
            (HttpMethod.Post, "/v1/anthropic/v1/messages"),
            (HttpMethod.Get, "/v1/anthropic/v1/models"),
            (HttpMethod.Post, "/v1/chat/completions"),
        })
        {
            using var request = Request(method, path, method == HttpMethod.Post ? MessagesBody : null, host: "evil.example:" + new Uri(host.BaseUrl).Port);
            using var response = await host.Client.SendAsync(request);
            var body = await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedHosts");
            Assert.DoesNotContain("rebind-target", body, StringComparison.Ordinal);
        }
        Assert.Empty(_upstream.Received);

        // Loopback names with any port are the server's own.
        foreach (var name in new[] { "localhost", "LOCALHOST:1234", "127.0.0.1", "[::1]:8080" })
        {
            using var request = Request(HttpMethod.Get, "/api/accounts", host: name);
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task AllowedHosts_admits_the_names_it_lists_and_nothing_else()
    {
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.AllowedHosts.Add("ccflare.internal");
            o.AllowedHosts.Add("*.gateway.test");
        });
        await host.AddAccountAsync("listed", "anthropic", AccountKey, _upstream.BaseUrl);

        foreach (var name in new[] { "ccflare.internal", "ccflare.internal:8080", "a.gateway.test" })
        {
            using var api = await host.Client.SendAsync(Request(HttpMethod.Get, "/api/accounts", host: name));
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
            using var proxy = await host.Client.SendAsync(Request(HttpMethod.Post, "/v1/anthropic/v1/messages", MessagesBody, host: name));
            Assert.Equal(HttpStatusCode.OK, proxy.StatusCode);
        }
        foreach (var name in new[] { "gateway.test", "ccflare.internal.evil.example", "evil.example" })
        {
            using var response = await host.Client.SendAsync(Request(HttpMethod.Get, "/api/accounts", host: name));
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedHosts");
        }
    }

    /// <summary>Every management endpoint that changes something, with a valid JSON body where it takes one.</summary>
    private static IEnumerable<(HttpMethod Method, string Path, string? Json)> MutatingEndpoints(string accountId, string userId) =>
    [
        (HttpMethod.Post, "/api/accounts", """{"name":"planted","provider":"anthropic","api_key":"sk-ant-attacker","base_url":"https://attacker.example"}"""),
        (HttpMethod.Patch, $"/api/accounts/{accountId}", """{"base_url":"https://attacker.example"}"""),
        (HttpMethod.Delete, $"/api/accounts/{accountId}", null),
        (HttpMethod.Post, $"/api/accounts/{accountId}/pause", null),
        (HttpMethod.Post, $"/api/accounts/{accountId}/resume", null),
        (HttpMethod.Post, $"/api/accounts/{accountId}/rename", """{"name":"renamed"}"""),
        (HttpMethod.Patch, "/api/config", """{"sessionDurationMs":60000}"""),
        (HttpMethod.Post, "/api/config/strategy", """{"strategy":"round-robin"}"""),
        (HttpMethod.Post, "/api/config/retention", """{"payloadDays":1}"""),
        (HttpMethod.Post, "/api/maintenance/cleanup", null),
        (HttpMethod.Post, "/api/maintenance/compact", null),
        (HttpMethod.Post, "/api/stats/reset", null),
        (HttpMethod.Post, "/api/users", """{"name":"planted-user"}"""),
        (HttpMethod.Delete, $"/api/users/{userId}", null),
        (HttpMethod.Post, "/api/auth/claude-code/init", """{"name":"planted-oauth"}"""),
        (HttpMethod.Post, "/api/auth/claude-code/complete", """{"sessionId":"x","code":"y"}"""),
    ];

    private static async Task<string> StateAsync(CcflareTestHost host)
    {
        await host.DrainHistoryAsync();
        var accounts = await host.Client.GetStringAsync("/api/accounts");
        var strategy = await host.Client.GetStringAsync("/api/config");
        var users = await host.Client.GetStringAsync("/api/users");
        var requests = await host.Client.GetStringAsync("/api/requests?limit=100");
        // Counters move with every read of the state itself; compare what a page could change.
        using var parsed = JsonDocument.Parse(accounts);
        var shape = string.Join(";", parsed.RootElement.EnumerateArray().Select(a =>
            $"{a.GetProperty("id")}|{a.GetProperty("name")}|{a.GetProperty("paused")}|{a.GetProperty("weight")}|{a.GetProperty("requestCount")}"));
        return $"{shape}\n{strategy}\n{users}\n{JsonDocument.Parse(requests).RootElement.GetArrayLength()}";
    }

    [Theory]
    [InlineData("origin")]
    [InlineData("fetch-site")]
    [InlineData("null-origin")]
    public async Task Cross_site_requests_to_every_mutating_management_endpoint_are_refused_and_change_nothing(string how)
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        var accountId = await host.AddAccountAsync("victim", "anthropic", AccountKey, _upstream.BaseUrl);
        using var userResponse = await host.Client.PostAsJsonAsync("/api/users", new { name = "victim-user" });
        using var userJson = JsonDocument.Parse(await userResponse.Content.ReadAsStringAsync());
        var userId = userJson.RootElement.GetProperty("user").GetProperty("id").GetString()!;
        using (var proxied = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = new StringContent(MessagesBody, Encoding.UTF8, "application/json") })
        {
            proxied.Headers.Add("x-api-key", userJson.RootElement.GetProperty("key").GetString());
            using var response = await host.Client.SendAsync(proxied);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var before = await StateAsync(host);

        foreach (var (method, path, json) in MutatingEndpoints(accountId, userId))
        {
            using var request = how switch
            {
                "origin" => Request(method, path, json, origin: Foreign),
                "null-origin" => Request(method, path, json, origin: "null"),
                _ => Request(method, path, json, fetchSite: "cross-site"),
            };
            using var response = await host.Client.SendAsync(request);
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedOrigins");
        }

        Assert.Equal(before, await StateAsync(host));
    }

    [Fact]
    public async Task Same_origin_json_posts_work_and_forms_or_text_bodies_get_415()
    {
        await using var host = await CcflareTestHost.StartAsync();
        var own = host.BaseUrl.TrimEnd('/');

        using (var sameOrigin = Request(HttpMethod.Post, "/api/accounts", $$"""{"name":"from-dashboard","provider":"anthropic","api_key":"{{AccountKey}}","base_url":"{{_upstream.BaseUrl}}"}""", origin: own, fetchSite: "same-origin"))
        using (var response = await host.Client.SendAsync(sameOrigin))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        var planted = """{"name":"planted","provider":"anthropic","api_key":"sk-ant-attacker","base_url":"https://attacker.example"}""";
        foreach (var content in new HttpContent[]
        {
            new StringContent(planted, Encoding.UTF8, "text/plain"),
            new FormUrlEncodedContent(new Dictionary<string, string> { [planted] = "" }),
            new StringContent(planted, Encoding.UTF8, "multipart/form-data"),
            new ByteArrayContent(Encoding.UTF8.GetBytes(planted)),
        })
        {
            using var response = await host.Client.PostAsync("/api/accounts", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Contains("application/json", ErrorJson.AssertError(body), StringComparison.Ordinal);
            content.Dispose();
        }

        using var strategy = await host.Client.PostAsync("/api/config/strategy", new StringContent("""{"strategy":"round-robin"}""", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, strategy.StatusCode);
        // application/*+json is JSON too.
        using var problemJson = await host.Client.PostAsync("/api/config/strategy", new StringContent("""{"strategy":"round-robin"}""", Encoding.UTF8, "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, problemJson.StatusCode);

        var accounts = await host.Client.GetStringAsync("/api/accounts");
        Assert.Contains("from-dashboard", accounts, StringComparison.Ordinal);
        Assert.DoesNotContain("planted", accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cross_site_top_level_navigation_still_opens_the_dashboard_and_the_oauth_callback()
    {
        await using var host = await CcflareTestHost.StartAsync();
        foreach (var path in new[] { "/", "/oauth/anthropic/callback?error=access_denied" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Sec-Fetch-Site", "cross-site");
            request.Headers.Add("Sec-Fetch-Mode", "navigate");
            request.Headers.Add("Sec-Fetch-Dest", "document");
            using var response = await host.Client.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.StartsWith("text/html", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        }
        // The same page loaded into a frame or by a script is not a navigation of the user's own.
        using var framed = new HttpRequestMessage(HttpMethod.Get, "/");
        framed.Headers.Add("Sec-Fetch-Site", "cross-site");
        framed.Headers.Add("Sec-Fetch-Mode", "navigate");
        framed.Headers.Add("Sec-Fetch-Dest", "iframe");
        using var framedResponse = await host.Client.SendAsync(framed);
        Assert.Equal(HttpStatusCode.Forbidden, framedResponse.StatusCode);
    }

    [Fact]
    public async Task AllowedOrigins_admits_a_listed_origin_on_the_management_api_with_cors_answers()
    {
        const string Listed = "https://admin.example.com";
        await using var host = await CcflareTestHost.StartAsync(o => o.AllowedOrigins.Add(Listed));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/config/strategy");
        preflight.Headers.Add("Origin", Listed);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var preflightResponse = await host.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal(Listed, preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var post = Request(HttpMethod.Post, "/api/config/strategy", """{"strategy":"round-robin"}""", origin: Listed, fetchSite: "cross-site");
        using var postResponse = await host.Client.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, postResponse.StatusCode);
        Assert.Equal(Listed, postResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var foreignPreflight = new HttpRequestMessage(HttpMethod.Options, "/api/config/strategy");
        foreignPreflight.Headers.Add("Origin", Foreign);
        foreignPreflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var foreignResponse = await host.Client.SendAsync(foreignPreflight);
        Assert.Equal(HttpStatusCode.Forbidden, foreignResponse.StatusCode);
        Assert.False(foreignResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task With_access_keys_off_a_proxy_request_from_a_web_page_is_refused_and_one_without_origin_passes()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("pooled", "anthropic", AccountKey, _upstream.BaseUrl);

        using (var fromPage = Request(HttpMethod.Post, "/v1/anthropic/v1/messages", MessagesBody, origin: Foreign))
        using (var response = await host.Client.SendAsync(fromPage))
        {
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedOrigins");
        }
        // A no-cors request carries no Origin on GET, but the browser still says where it comes from.
        using (var noCors = Request(HttpMethod.Get, "/v1/anthropic/v1/models", fetchSite: "cross-site"))
        using (var response = await host.Client.SendAsync(noCors))
        {
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedOrigins");
        }
        Assert.Empty(_upstream.Received);

        // SDKs, Claude Code and curl send neither header.
        using var sdk = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(MessagesBody, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, sdk.StatusCode);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task With_access_keys_on_a_listed_origin_may_use_the_proxy_with_a_key_and_gets_cors_preflights()
    {
        const string Listed = "https://chat.example.com";
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.RequireAccessKeys = true;
            o.AllowedOrigins.Add(Listed);
        });
        await host.AddAccountAsync("pooled", "anthropic", AccountKey, _upstream.BaseUrl);
        using var userResponse = await host.Client.PostAsJsonAsync("/api/users", new { name = "web-app" });
        using var userJson = JsonDocument.Parse(await userResponse.Content.ReadAsStringAsync());
        var key = userJson.RootElement.GetProperty("key").GetString()!;

        // The preflight carries no key; the framework's CORS service answers it.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/anthropic/v1/messages");
        preflight.Headers.Add("Origin", Listed);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key, content-type, anthropic-version");
        using var preflightResponse = await host.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal(Listed, preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("x-api-key", string.Join(",", preflightResponse.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);

        using (var listed = Request(HttpMethod.Post, "/v1/anthropic/v1/messages", MessagesBody, origin: Listed, fetchSite: "cross-site"))
        {
            listed.Headers.Add("x-api-key", key);
            using var response = await host.Client.SendAsync(listed);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Listed, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
        using (var withoutKey = Request(HttpMethod.Post, "/v1/anthropic/v1/messages", MessagesBody, origin: Listed))
        using (var response = await host.Client.SendAsync(withoutKey))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var foreign = Request(HttpMethod.Post, "/v1/anthropic/v1/messages", MessagesBody, origin: Foreign))
        {
            foreign.Headers.Add("x-api-key", key);
            using var response = await host.Client.SendAsync(foreign);
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden, "Ccflare:AllowedOrigins");
        }
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Invalid_allowed_hosts_and_origins_fail_start_up_naming_the_key()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => CcflareTestHost.StartAsync(o =>
        {
            o.AllowedHosts.Add("https://ccflare.example");
            o.AllowedOrigins.Add("https://app.example.com/path");
        }));
        Assert.Contains("Ccflare:AllowedHosts", error.Message, StringComparison.Ordinal);
        Assert.Contains("Ccflare:AllowedOrigins", error.Message, StringComparison.Ordinal);
    }
}
