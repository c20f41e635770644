using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Ccflare.Security;
using Ccflare.Storage;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Tests.Security;

/// <summary>
/// The loopback rule for the management surface, tested at process level: Kestrel listens on
/// 127.0.0.1 and on this machine's non-loopback address, and the "remote" client really connects
/// through the latter (so Connection.RemoteIpAddress is that address). Only when the machine has
/// no such address does the fixture fall back to <see cref="SimulatedRemotePeer"/>, a test-only
/// middleware that rewrites IHttpConnectionFeature.RemoteIpAddress to simulate a remote peer.
/// </summary>
public sealed class ManagementAccessTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string AccountKey = "sk-ant-management-tests-key";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    /// <summary>A host plus a client whose requests arrive from a non-loopback address.</summary>
    private sealed class RemoteFixture(CcflareTestHost host, HttpClient remote, bool realAddress) : IAsyncDisposable
    {
        public CcflareTestHost Host { get; } = host;
        public HttpClient Remote { get; } = remote;
        public bool RealAddress { get; } = realAddress;

        public async ValueTask DisposeAsync()
        {
            Remote.Dispose();
            await Host.DisposeAsync();
        }
    }

    private static async Task<RemoteFixture> StartAsync(
        Action<CcflareOptions>? configure = null,
        Action<WebApplicationBuilder>? host = null,
        Action<WebApplication>? map = null,
        bool forceSimulated = false)
    {
        var address = forceSimulated ? null : Network.NonLoopbackAddress();
        var ccflare = await CcflareTestHost.StartAsync(configure, host: b =>
        {
            if (address is not null)
            {
                b.WebHost.UseUrls("http://127.0.0.1:0", $"http://{address}:0");
            }
            host?.Invoke(b);
        }, map: app =>
        {
            if (address is null)
            {
                app.Use(SimulatedRemotePeer);
            }
            // Echoes the peer address the server saw (not a Ccflare route).
            app.MapGet("/test/peer", (HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "(none)");
            if (map is null)
            {
                app.MapCcflare();
            }
            else
            {
                map(app);
            }
        });
        HttpClient remote;
        if (address is not null)
        {
            var remoteUrl = ccflare.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Single(a => a.Contains(address.ToString(), StringComparison.Ordinal));
            remote = new HttpClient { BaseAddress = new Uri(remoteUrl) };
        }
        else
        {
            remote = new HttpClient { BaseAddress = new Uri(ccflare.BaseUrl) };
            remote.DefaultRequestHeaders.Add(SimulatedRemoteHeader, "203.0.113.9");
        }
        return new RemoteFixture(ccflare, remote, address is not null);
    }

    private const string SimulatedRemoteHeader = "X-Test-Simulated-Remote-Peer";

    /// <summary>
    /// TEST ONLY: pretends the TCP peer is the address in <see cref="SimulatedRemoteHeader"/> by
    /// rewriting the connection feature, which is exactly the input ManagementAccess reads.
    /// </summary>
    private static Task SimulatedRemotePeer(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Headers.TryGetValue(SimulatedRemoteHeader, out var value))
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse(value.ToString());
        }
        return next(context);
    }

    private static HttpRequestMessage Get(string path, string? bearer = null, string? scheme = "Bearer")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme!, bearer);
        }
        return request;
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        ErrorJson.AssertError(await response.Content.ReadAsStringAsync());
        if (status == HttpStatusCode.Unauthorized)
        {
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    private async Task<HttpStatusCode> ProxyAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = JsonContent.Create(new { model = "claude-sonnet-4-5", max_tokens = 5, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public void Machine_address_detection_reports_what_the_process_level_tests_use()
    {
        // Documents which path the other tests take here; both paths assert the same rule.
        var address = Network.NonLoopbackAddress();
        Assert.True(address is null || !IPAddress.IsLoopback(address));
    }

    [Fact]
    public async Task Without_a_token_remote_clients_get_403_and_loopback_clients_get_through()
    {
        await using var f = await StartAsync();
        await f.Host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var peer = IPAddress.Parse(await f.Remote.GetStringAsync("/test/peer"));
        Assert.False(ManagementAccess.IsLocal(peer), $"the remote client arrived from {peer}");
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(await f.Host.Client.GetStringAsync("/test/peer"))));
        if (Network.NonLoopbackAddress() is { } machineAddress)
        {
            // A real second interface: the connection truly came from it, no simulation involved.
            Assert.True(f.RealAddress);
            Assert.Equal(machineAddress, peer);
        }

        using (var local = await f.Host.Client.GetAsync("/api/accounts"))
        {
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        }
        foreach (var path in new[] { "/api/accounts", "/api/requests", "/api/config", "/api/users", "/api/strategies", "/api/no-such-endpoint" })
        {
            using var response = await f.Remote.GetAsync(path);
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden);
        }
        using (var create = await f.Remote.PostAsJsonAsync("/api/accounts", new { name = "evil", provider = "anthropic", api_key = "sk-evil-key-000000", base_url = "http://evil.example" }))
        {
            await AssertRefusedAsync(create, HttpStatusCode.Forbidden);
        }
        Assert.Single(await f.Host.Services.GetRequiredService<ICcflareStore>().GetAccountsAsync(default));

        // The proxy and /health are not management routes.
        Assert.Equal(HttpStatusCode.OK, await ProxyAsync(f.Remote));
        using var health = await f.Remote.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var healthBody = await health.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":\"ok\"", healthBody, StringComparison.Ordinal);
        Assert.DoesNotContain(AccountKey, healthBody, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-", healthBody, StringComparison.Ordinal);
        Assert.DoesNotContain(_upstream.BaseUrl, healthBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_an_admin_token_remote_clients_need_it_and_get_401_otherwise()
    {
        await using var f = await StartAsync(o => o.AdminToken = AdminToken);

        foreach (var (request, label) in new[]
        {
            (Get("/api/accounts"), "missing"),
            (Get("/api/accounts", "wrong-token-0123456789abcdef"), "wrong"),
            (Get("/api/accounts", AdminToken[..^1]), "prefix"),
            (Get("/api/accounts", AdminToken + "x"), "longer"),
            (Get("/api/accounts", AdminToken, scheme: "Basic"), "other scheme"),
        })
        {
            using (request)
            using (var response = await f.Remote.SendAsync(request))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, label);
                await AssertRefusedAsync(response, HttpStatusCode.Unauthorized);
            }
        }

        using (var request = Get("/api/accounts", AdminToken))
        using (var response = await f.Remote.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/accounts") { Content = JsonContent.Create(new { name = "remote-added", provider = "anthropic", api_key = AccountKey, base_url = _upstream.BaseUrl }) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
            using var response = await f.Remote.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        // Loopback stays open without the token.
        using (var local = await f.Host.Client.GetAsync("/api/accounts"))
        {
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await ProxyAsync(f.Remote));
    }

    [Fact]
    public async Task Simulated_remote_peer_gets_the_same_answers()
    {
        // Always runs, independent of the machine's interfaces: the rule reads Connection.RemoteIpAddress.
        await using var f = await StartAsync(o => o.AdminToken = AdminToken, forceSimulated: true);
        Assert.False(f.RealAddress);
        using (var response = await f.Remote.GetAsync("/api/accounts"))
        {
            await AssertRefusedAsync(response, HttpStatusCode.Unauthorized);
        }
        using (var request = Get("/api/accounts", AdminToken))
        using (var response = await f.Remote.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // A forwarded header is not an input: spoofing X-Forwarded-For from a remote peer changes nothing.
        using (var request = Get("/api/accounts"))
        {
            request.Headers.Add("X-Forwarded-For", "127.0.0.1");
            using var response = await f.Remote.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task A_host_authorization_policy_replaces_the_loopback_rule()
    {
        await using var f = await StartAsync(host: b =>
        {
            b.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, HeaderAuthHandler>("Test", null);
            b.Services.AddAuthorization();
        }, map: app =>
        {
            app.UseAuthentication();
            app.UseAuthorization();
            var endpoints = app.MapCcflare();
            endpoints.Api.RequireAuthorization();
        });

        using (var request = Get("/api/accounts"))
        {
            request.Headers.Add("X-Test-User", "operator");
            using var response = await f.Remote.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await f.Remote.GetAsync("/api/accounts"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        // The host's policy now governs loopback too.
        using (var response = await f.Host.Client.GetAsync("/api/accounts"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ProxyAsync(f.Remote));
    }

    [Fact]
    public async Task AllowAnonymous_does_not_open_the_management_surface()
    {
        await using var f = await StartAsync(host: b => b.Services.AddAuthorization(), map: app =>
        {
            app.UseAuthorization();
            app.MapCcflare().Api.AllowAnonymous();
        });
        using var response = await f.Remote.GetAsync("/api/accounts");
        await AssertRefusedAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AllowRemoteManagement_turns_the_rule_off()
    {
        await using var f = await StartAsync(o => o.AllowRemoteManagement = true);
        using var response = await f.Remote.GetAsync("/api/accounts");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_rule_is_reusable_on_other_groups_such_as_the_dashboard()
    {
        await using var f = await StartAsync(map: app =>
        {
            app.MapCcflare();
            app.MapGroup("/dashboard").RequireCcflareManagementAccess().MapGet("/", () => "dashboard");
        });
        using (var response = await f.Remote.GetAsync("/dashboard/"))
        {
            await AssertRefusedAsync(response, HttpStatusCode.Forbidden);
        }
        Assert.Equal("dashboard", await f.Host.Client.GetStringAsync("/dashboard/"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.2", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("::ffff:192.0.2.2", false)]
    [InlineData("fd00::2", false)]
    [InlineData("0.0.0.0", false)]
    public void Loopback_detection(string address, bool local) =>
        Assert.Equal(local, ManagementAccess.IsLocal(IPAddress.Parse(address)));

    [Fact]
    public void No_ip_peer_counts_as_local() => Assert.True(ManagementAccess.IsLocal(null));

    [Theory]
    [InlineData("short")]
    [InlineData("has whitespace in the token")]
    public async Task Weak_admin_tokens_fail_at_start(string token)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => CcflareTestHost.StartAsync(o => o.AdminToken = token));
        Assert.Contains("Ccflare:AdminToken", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_management_endpoint_answers_500_json_without_internals()
    {
        CountingProxy<ICcflareStore>? counter = null;
        await using var host = await CcflareTestHost.StartAsync(build: b =>
        {
            var (proxy, c) = CountingProxy<ICcflareStore>.Wrap(new InMemoryStore());
            counter = c;
            b.Services.Replace(ServiceDescriptor.Singleton(proxy));
        });
        counter!.Fault = name => name == nameof(ICcflareStore.GetRecentRequestsAsync) ? new InvalidOperationException("boom: connection string Password=hunter2") : null;

        using var response = await host.Client.GetAsync("/api/requests");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        ErrorJson.AssertError(body);
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain("boom", body, StringComparison.Ordinal);
        Assert.False(ErrorJson.LooksLikeStackTrace(body), body);
    }

    private sealed class HeaderAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue("X-Test-User", out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
