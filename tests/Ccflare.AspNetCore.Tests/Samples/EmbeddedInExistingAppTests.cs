using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using EmbeddedInExistingApp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Samples;

public sealed class EmbeddedInExistingAppTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("ccflare-shop-");
    private WebApplication _app = null!;
    private string _baseUrl = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _app = ShopApp.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", SampleDirectory(), "--Shop:LlmDatabasePath=" + Path.Combine(_data.FullName, "shop.litedb")], builder => builder.Logging.ClearProviders());
        await _app.StartAsync();
        _baseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _upstream.DisposeAsync();
        _data.Delete(recursive: true);
    }

    private static string SampleDirectory() => RepositoryPaths.Combine("samples", "EmbeddedInExistingApp");

    private HttpClient Client() => new(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_baseUrl) };

    private async Task<HttpClient> SignedInAsync(string user)
    {
        var client = Client();
        using var login = await client.PostAsJsonAsync("/login", new { user });
        login.EnsureSuccessStatusCode();
        return client;
    }

    private static StringContent Message() =>
        new("""{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_apps_own_endpoints_still_work()
    {
        using var client = Client();

        Assert.Equal("Shop back office", await client.GetStringAsync("/"));
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/orders")).GetArrayLength());
    }

    [Fact]
    public async Task Management_refuses_anonymous_and_non_admin_users_and_serves_admins()
    {
        using var anonymous = Client();
        using var bob = await SignedInAsync("bob");
        using var alice = await SignedInAsync("alice");

        using var anonymousResponse = await anonymous.GetAsync("/llm/api/accounts");
        using var bobResponse = await bob.GetAsync("/llm/api/accounts");
        using var aliceResponse = await alice.GetAsync("/llm/api/accounts");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymousResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, bobResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, aliceResponse.StatusCode);

        using var anonymousDashboard = await anonymous.GetAsync("/llm/");
        using var aliceDashboard = await alice.GetAsync("/llm/");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousDashboard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, aliceDashboard.StatusCode);
        Assert.Contains("<base href=\"/llm/\"", await aliceDashboard.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Proxy_works_under_llm_with_the_tenant_strategy_and_the_audit_hook_fires()
    {
        using var alice = await SignedInAsync("alice");
        foreach (var (name, key) in new[] { ("acme", "key-acme"), ("globex", "key-globex") })
        {
            using var add = await alice.PostAsJsonAsync("/llm/api/accounts", new { name, provider = "anthropic", api_key = key, base_url = _upstream.BaseUrl });
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
        }
        Assert.Equal("tenant", (await alice.GetFromJsonAsync<JsonElement>("/llm/api/config")).GetProperty("lbStrategy").GetString());

        using var service = Client();
        foreach (var tenant in new[] { "globex", "acme" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/llm/v1/anthropic/v1/messages") { Content = Message() };
            request.Headers.Add("x-tenant", tenant);
            using var response = await service.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(["key-globex", "key-acme"], _upstream.Received.Select(r => r.Credential));
        Assert.All(_upstream.Received, r => Assert.Equal("/v1/messages", r.Path));

        JsonElement audit = default;
        for (var i = 0; i < 100; i++)
        {
            audit = await alice.GetFromJsonAsync<JsonElement>("/audit");
            if (audit.GetArrayLength() == 2)
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.Equal(2, audit.GetArrayLength());
        Assert.Equal(["globex", "acme"], audit.EnumerateArray().Select(e => e.GetProperty("account").GetString()));
        Assert.All(audit.EnumerateArray(), e => Assert.Equal("claude-sonnet-4-5", e.GetProperty("model").GetString()));
    }
}
