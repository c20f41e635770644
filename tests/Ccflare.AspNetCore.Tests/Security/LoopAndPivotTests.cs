using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Security;

/// <summary>
/// An account's base URL cannot turn the proxy on Ccflare itself (a loop, or a path from the open proxy routes
/// to the loopback-only management API) or on the machine's surroundings (cloud metadata), and a request that
/// comes back to a Ccflare anyway is refused at once with 508.
/// </summary>
public sealed class LoopAndPivotTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private int UpstreamPort => new Uri(_upstream.BaseUrl).Port;

    private static async Task<(HttpStatusCode Status, string Message)> CreateAsync(CcflareTestHost host, string baseUrl)
    {
        using var response = await host.Client.PostAsJsonAsync("/api/accounts", new { name = "acc-" + Guid.NewGuid().ToString("N")[..8], provider = "anthropic", api_key = "sk-ant-pivot", base_url = baseUrl });
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? "" : ErrorJson.AssertError(body));
    }

    [Fact]
    public async Task Base_urls_on_this_server_metadata_addresses_or_numeric_spellings_are_refused_at_creation_and_update()
    {
        await using var host = await CcflareTestHost.StartAsync();
        var port = new Uri(host.BaseUrl).Port;

        foreach (var (url, expected) in new[]
        {
            ($"http://127.0.0.1:{port}/api", "own listener"),
            ($"http://localhost:{port}/v1/anthropic", "own listener"),
            ($"http://[::1]:{port}", "own listener"),
            ("http://169.254.169.254", "AllowPrivateBaseUrls"),
            ("http://169.254.170.2/v2/credentials", "AllowPrivateBaseUrls"),
            ("http://[fd00:ec2::254]", "AllowPrivateBaseUrls"),
            ($"http://0x7f000001:{port}", "numeric spelling"),
            ($"http://2130706433:{UpstreamPort}", "numeric spelling"),
            ($"http://127.1:{UpstreamPort}", "numeric spelling"),
            ($"http://0177.0.0.1:{UpstreamPort}", "numeric spelling"),
        })
        {
            var (status, message) = await CreateAsync(host, url);
            Assert.True(status == HttpStatusCode.BadRequest, $"{url}: {status}");
            Assert.Contains(expected == "own listener" ? "this server's own listener" : expected, message, StringComparison.Ordinal);
        }

        // A loopback upstream on another port (a local gateway, this test's fake upstream) stays allowed.
        var (okStatus, _) = await CreateAsync(host, _upstream.BaseUrl);
        Assert.Equal(HttpStatusCode.Created, okStatus);

        var id = await host.AddAccountAsync("to-update", "anthropic", "sk-ant-update", _upstream.BaseUrl);
        using var patch = await host.Client.PatchAsJsonAsync($"/api/accounts/{id}", new { base_url = $"http://127.0.0.1:{port}/api" });
        Assert.Equal(HttpStatusCode.BadRequest, patch.StatusCode);
        Assert.Contains("this server's own listener", ErrorJson.AssertError(await patch.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        var accounts = await host.Client.GetStringAsync("/api/accounts");
        Assert.DoesNotContain($":{port}/api", accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowPrivateBaseUrls_admits_metadata_style_addresses_but_never_the_servers_own_listener()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.AllowPrivateBaseUrls = true);
        var port = new Uri(host.BaseUrl).Port;

        Assert.Equal(HttpStatusCode.Created, (await CreateAsync(host, "http://169.254.10.20:8080")).Status);
        Assert.Equal(HttpStatusCode.Created, (await CreateAsync(host, $"http://127.1:{UpstreamPort}")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await CreateAsync(host, $"http://127.0.0.1:{port}")).Status);
    }

    /// <summary>Plants an account the way an older version (or a direct database edit) could have: without validation.</summary>
    private static async Task PlantAsync(CcflareTestHost host, string name, string provider, string baseUrl)
    {
        var (outcome, _) = await host.Services.GetRequiredService<AccountService>().AddAsync(new Account
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Provider = provider,
            ApiKey = "sk-planted-" + name,
            BaseUrl = baseUrl,
        }, CancellationToken.None);
        Assert.Equal(AccountChangeOutcome.Done, outcome);
    }

    [Fact]
    public async Task The_pivot_from_the_proxy_to_the_management_api_is_refused_with_508()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("real-account", "anthropic", "sk-ant-real", _upstream.BaseUrl);
        await PlantAsync(host, "pivot", "openai", host.BaseUrl.TrimEnd('/') + "/api");

        using var list = await host.Client.GetAsync("/v1/openai/accounts");
        var listBody = await list.Content.ReadAsStringAsync();
        Assert.Equal((HttpStatusCode)508, list.StatusCode);
        Assert.DoesNotContain("real-account", listBody, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant", listBody, StringComparison.Ordinal);

        using (var served = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
        using var reset = await host.Client.PostAsync("/v1/openai/stats/reset", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode)508, reset.StatusCode);
        // The reset never ran: the real account keeps its count.
        using var accounts = JsonDocument.Parse(await host.Client.GetStringAsync("/api/accounts"));
        var real = accounts.RootElement.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "real-account");
        Assert.Equal(1, real.GetProperty("requestCount").GetInt64());
    }

    private const string SimulatedRemoteHeader = "X-Test-Simulated-Remote-Peer";

    [Fact]
    public async Task A_remote_caller_cannot_reach_the_management_api_through_an_account_pointed_at_it()
    {
        // TEST ONLY: the outer request pretends to come from a remote peer; the header is not forwarded, so the
        // proxy's own request to /api arrives from loopback, exactly as it would in production.
        await using var host = await CcflareTestHost.StartAsync(
            o => o.Headers.DropRequestHeaders.Add(SimulatedRemoteHeader),
            map: app =>
            {
                app.Use((context, next) =>
                {
                    if (context.Request.Headers.TryGetValue(SimulatedRemoteHeader, out var peer))
                    {
                        context.Connection.RemoteIpAddress = IPAddress.Parse(peer.ToString());
                    }
                    return next(context);
                });
                app.MapCcflare();
            });
        await host.AddAccountAsync("real-account", "anthropic", "sk-ant-real", _upstream.BaseUrl);
        await PlantAsync(host, "pivot", "openai", host.BaseUrl.TrimEnd('/') + "/api");

        using var direct = new HttpRequestMessage(HttpMethod.Get, "/api/accounts");
        direct.Headers.Add(SimulatedRemoteHeader, "203.0.113.7");
        using var directResponse = await host.Client.SendAsync(direct);
        Assert.Equal(HttpStatusCode.Forbidden, directResponse.StatusCode);

        using var pivot = new HttpRequestMessage(HttpMethod.Get, "/v1/openai/accounts");
        pivot.Headers.Add(SimulatedRemoteHeader, "203.0.113.7");
        using var pivotResponse = await host.Client.SendAsync(pivot);
        var body = await pivotResponse.Content.ReadAsStringAsync();
        Assert.Equal((HttpStatusCode)508, pivotResponse.StatusCode);
        Assert.DoesNotContain("real-account", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_base_url_pointing_at_the_proxy_itself_is_one_refused_hop_not_thousands()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await PlantAsync(host, "loop", "anthropic", host.BaseUrl.TrimEnd('/') + "/v1/anthropic");

        var watch = Stopwatch.StartNew();
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"));
        watch.Stop();

        Assert.Equal((HttpStatusCode)508, response.StatusCode);
        Assert.Contains("base_url", ErrorJson.AssertError(await response.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
        await host.DrainHistoryAsync();
        var history = await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests?limit=50");
        // The client's request, and nothing more: the hop that came back was refused before the proxy.
        Assert.Single(history!);
    }

    [Fact]
    public async Task Every_forwarded_request_carries_the_via_marker_and_a_marked_request_is_refused()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("ant", "anthropic", "sk-ant-via", _upstream.BaseUrl);

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = new StringContent("{}", Encoding.UTF8, "application/json") })
        {
            request.Headers.Add("Via", "1.1 corporate-proxy");
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("1.1 corporate-proxy, 1.1 ccflare", received.Header("via"));

        using var looped = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        looped.Headers.Add("Via", "1.1 ccflare, 1.1 another-proxy");
        using var loopedResponse = await host.Client.SendAsync(looped);
        Assert.Equal((HttpStatusCode)508, loopedResponse.StatusCode);
        Assert.Single(_upstream.Received);
    }
}
