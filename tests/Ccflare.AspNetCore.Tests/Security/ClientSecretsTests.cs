using System.Net;
using System.Text;
using Ccflare.Storage;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Security;

/// <summary>Nothing of the client's that is secret goes upstream or to disk, and errors never echo .NET exception text.</summary>
public sealed class ClientSecretsTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Theory]
    [InlineData("anthropic", "/v1/anthropic/v1/messages")]
    [InlineData("openai", "/v1/openai/chat/completions")]
    public async Task Cookies_and_client_credential_headers_never_reach_the_upstream(string provider, string path)
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("acc", provider, "sk-account-credential", provider == "openai" ? _upstream.OpenAIBaseUrl : _upstream.BaseUrl);

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("Cookie", "session=client-secret-cookie");
        request.Headers.Add("anthropic-api-key", "client-secret-anthropic");
        request.Headers.Add("x-goog-api-key", "client-secret-goog");
        request.Headers.Add("api-key", "client-secret-azure");
        request.Headers.Add("x-api-key", "client-secret-x");
        request.Headers.Add("Proxy-Authorization", "Basic client-secret-proxy");
        request.Headers.Add("x-request-trace", "kept");
        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        foreach (var name in new[] { "cookie", "anthropic-api-key", "x-goog-api-key", "api-key", "proxy-authorization" })
        {
            Assert.Null(received.Header(name));
        }
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains("client-secret", StringComparison.Ordinal));
        Assert.Equal("kept", received.Header("x-request-trace"));
        Assert.Equal("sk-account-credential", received.Credential);
    }

    [Fact]
    public async Task Credential_looking_query_parameters_are_masked_in_the_stored_path_and_forwarded_unchanged()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("acc", "anthropic", "sk-account-credential", _upstream.BaseUrl);

        var query = "?beta=true&key=client-secret-1&api_key=client-secret-2&access_token=client-secret-3&x-goog-api-key=client-secret-4&Token=client-secret-5&sig=client-secret-6&keep=visible";
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages" + query, new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(query, Assert.Single(_upstream.Received).QueryString);

        await host.DrainHistoryAsync();
        var stored = Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, includePayloads: true, CancellationToken.None));
        Assert.Equal("/v1/anthropic/v1/messages?beta=true&key=***&api_key=***&access_token=***&x-goog-api-key=***&Token=***&sig=***&keep=visible", stored.Path);
        Assert.Equal("/v1/messages?beta=true&key=***&api_key=***&access_token=***&x-goog-api-key=***&Token=***&sig=***&keep=visible", stored.UpstreamPath);
        var api = await host.Client.GetStringAsync("/api/requests?limit=5");
        Assert.DoesNotContain("client-secret", api, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("?a=1&b=2", "?a=1&b=2")]
    [InlineData("?key=", "?key=")]
    [InlineData("?%6Bey=secret", "?%6Bey=***")]
    [InlineData("?refresh_token=abc&x=1", "?refresh_token=***&x=1")]
    [InlineData("?client_secret=abc", "?client_secret=***")]
    [InlineData("?monkey=banana", "?monkey=banana")]
    public void MaskQuery_masks_only_credential_names(string query, string expected) =>
        Assert.Equal(expected, Ccflare.Recording.PayloadMasking.MaskQuery(query));

    [Fact]
    public async Task An_unreachable_upstream_is_recorded_without_the_socket_exception_text()
    {
        await using var host = await CcflareTestHost.StartAsync();
        // A port nothing listens on: the connection is refused.
        var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await host.AddAccountAsync("down", "anthropic", "sk-account-down", $"http://127.0.0.1:{port}");

        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("{}", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(ErrorJson.LooksLikeStackTrace(body), body);

        await host.DrainHistoryAsync();
        var api = await host.Client.GetStringAsync("/api/requests?limit=5");
        Assert.Contains("Upstream unreachable", api, StringComparison.Ordinal);
        Assert.DoesNotContain("refused", api, StringComparison.OrdinalIgnoreCase);
    }
}
