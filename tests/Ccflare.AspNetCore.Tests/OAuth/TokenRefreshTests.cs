using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Security;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.OAuth;

public sealed class TokenRefreshTests : OAuthHostTests
{
    protected override void Configure(CcflareOptions options)
    {
        options.Providers["claude-code"] = new ProviderOptions { TokenUrl = Auth.TokenUrl, BaseUrl = Upstream.BaseUrl };
        options.TokenRefreshIntervalMs = 60_000;
    }

    private async Task<string> AddOAuthAccountAsync(string name, string accessToken, string? refreshToken, TimeSpan expiresIn)
    {
        using var response = await Host.Client.PostAsJsonAsync("/api/accounts", new
        {
            name,
            provider = "claude-code",
            auth_method = "oauth",
            access_token = accessToken,
            refresh_token = refreshToken,
            expires_at = Time.GetUtcNow().Add(expiresIn).ToUnixTimeMilliseconds(),
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("account").GetProperty("id").GetString()!;
    }

    private Task<HttpResponseMessage> SendMessageAsync() =>
        Host.Client.PostAsync("/v1/claude-code/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));

    private async Task<Account> StoredAsync(string id)
    {
        var accounts = await Host.Services.GetRequiredService<AccountStore>().GetAccountsAsync(CancellationToken.None);
        return accounts.Single(a => a.Id == id);
    }

    [Fact]
    public async Task A_token_about_to_expire_is_refreshed_once_for_a_hundred_concurrent_requests()
    {
        var id = await AddOAuthAccountAsync("max", "at-old", "rt-old", TimeSpan.FromMinutes(2));
        Auth.Delay = TimeSpan.FromMilliseconds(300);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => SendMessageAsync()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }
        Assert.Equal(1, Auth.RefreshCalls);
        var refresh = Assert.Single(Auth.Requests);
        Assert.True(refresh.IsJson);
        Assert.Equal("rt-old", refresh["refresh_token"]);
        Assert.Equal("9d1c250a-e61b-44d9-88ed-5944d1962f5e", refresh["client_id"]);
        Assert.Equal(100, Upstream.Received.Count);
        Assert.All(Upstream.Received, r => Assert.Equal("Bearer at-1", r.Header("authorization")));

        var stored = await StoredAsync(id);
        Assert.Equal("at-1", stored.AccessToken);
        Assert.Equal("rt-1", stored.RefreshToken);
        Assert.Equal(Time.GetUtcNow().AddSeconds(3600), stored.ExpiresAt);
    }

    [Fact]
    public async Task A_valid_token_is_used_without_refreshing()
    {
        await AddOAuthAccountAsync("fresh", "at-fresh", "rt-fresh", TimeSpan.FromHours(1));
        using var response = await SendMessageAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, Auth.RefreshCalls);
        Assert.Equal("Bearer at-fresh", Assert.Single(Upstream.Received).Header("authorization"));
    }

    [Fact]
    public async Task A_refused_refresh_marks_the_account_and_the_request_fails_over()
    {
        var broken = await AddOAuthAccountAsync("broken", "at-broken", "rt-revoked", TimeSpan.FromMinutes(-1));
        await AddOAuthAccountAsync("healthy", "at-healthy", "rt-healthy", TimeSpan.FromHours(2));
        Auth.Respond = r => r["refresh_token"] == "rt-revoked"
            ? (400, """{"error":"invalid_grant","error_description":"Refresh token revoked"}""")
            : (500, "{}");

        using var response = await SendMessageAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer at-healthy", Assert.Single(Upstream.Received).Header("authorization"));
        Assert.Equal(1, Auth.RefreshCalls);

        using var list = JsonDocument.Parse(await Host.Client.GetStringAsync("/api/accounts"));
        var account = list.RootElement.EnumerateArray().Single(a => a.GetProperty("id").GetString() == broken);
        Assert.Equal("refresh_failed", account.GetProperty("tokenStatus").GetString());
        Assert.Contains("invalid_grant", account.GetProperty("tokenStatusReason").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("rt-revoked", list.RootElement.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("refresh_failed", (await StoredAsync(broken)).TokenStatus);

        // The marked account is skipped: no further refresh attempts, traffic goes to the healthy one.
        using var second = await SendMessageAsync();
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(1, Auth.RefreshCalls);
    }

    [Fact]
    public async Task A_transient_refresh_failure_fails_over_without_marking_and_is_retried()
    {
        var flaky = await AddOAuthAccountAsync("flaky", "at-flaky", "rt-flaky", TimeSpan.FromMinutes(-1));
        await AddOAuthAccountAsync("steady", "at-steady", "rt-steady", TimeSpan.FromHours(2));
        Auth.Respond = _ => (503, """{"error":"temporarily_unavailable"}""");

        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal("Bearer at-steady", Assert.Single(Upstream.Received).Header("authorization"));
        Assert.Null((await StoredAsync(flaky)).TokenStatus);

        Auth.Respond = null;
        var state = Host.Services.GetRequiredService<AccountRegistry>().Find(flaky)!;
        var secret = await Host.Services.GetRequiredService<IAccountCredentials>().GetSecretAsync(state, CancellationToken.None);
        Assert.Equal("at-1", secret);
        Assert.Equal(2, Auth.RefreshCalls);
        Assert.Equal("at-1", (await StoredAsync(flaky)).AccessToken);
    }

    [Fact]
    public async Task An_expired_token_without_refresh_token_is_marked_expired()
    {
        var id = await AddOAuthAccountAsync("no-refresh", "at-gone", null, TimeSpan.FromMinutes(-1));

        using var response = await SendMessageAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(Upstream.Received);
        Assert.Equal(0, Auth.RefreshCalls);
        Assert.Equal("expired", (await StoredAsync(id)).TokenStatus);
    }

    [Fact]
    public async Task A_refresh_reply_without_refresh_token_keeps_the_old_one()
    {
        var id = await AddOAuthAccountAsync("rotating", "at-old", "rt-keep", TimeSpan.FromMinutes(1));
        var n = 0;
        Auth.Respond = _ => (200, JsonSerializer.Serialize(new { access_token = $"at-new-{++n}", expires_in = 600 }));

        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var stored = await StoredAsync(id);
        Assert.Equal("at-new-1", stored.AccessToken);
        Assert.Equal("rt-keep", stored.RefreshToken);

        // Next expiry: the kept refresh token is sent again.
        Time.Advance(TimeSpan.FromMinutes(6));
        using (var response = await SendMessageAsync())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(new[] { "rt-keep", "rt-keep" }, Auth.Requests.Select(r => r["refresh_token"] ?? "").ToArray());
        Assert.Equal("Bearer at-new-2", Upstream.Received.Last().Header("authorization"));
    }

    [Fact]
    public async Task The_background_service_refreshes_tokens_about_to_expire_while_idle()
    {
        var id = await AddOAuthAccountAsync("idle", "at-idle", "rt-idle", TimeSpan.FromMinutes(6));
        var later = await AddOAuthAccountAsync("later", "at-later", "rt-later", TimeSpan.FromHours(3));

        Time.Advance(TimeSpan.FromSeconds(61));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Auth.RefreshCalls == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        while ((await StoredAsync(id)).AccessToken != "at-1" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, Auth.RefreshCalls);
        Assert.Equal("rt-idle", Assert.Single(Auth.Requests)["refresh_token"]);
        Assert.Equal("at-1", (await StoredAsync(id)).AccessToken);
        Assert.Equal("at-later", (await StoredAsync(later)).AccessToken);
        Assert.Empty(Upstream.Received);
    }

    [Fact]
    public async Task Refresh_single_flight_holds_when_called_directly()
    {
        await AddOAuthAccountAsync("direct", "at-old", "rt-old", TimeSpan.FromMinutes(1));
        Auth.Delay = TimeSpan.FromMilliseconds(200);
        var credentials = Host.Services.GetRequiredService<IAccountCredentials>();
        var state = Host.Services.GetRequiredService<AccountRegistry>().FindByName("direct")!;

        var secrets = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => credentials.GetSecretAsync(state, CancellationToken.None).AsTask()));

        Assert.All(secrets, s => Assert.Equal("at-1", s));
        Assert.Equal(1, Auth.RefreshCalls);
    }
}
