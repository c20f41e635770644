using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ccflare.Security;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.OAuth;

public sealed class OAuthSignInTests : OAuthHostTests
{
    protected override void Configure(CcflareOptions options)
    {
        options.Providers["claude-code"] = new ProviderOptions { AuthorizeUrl = Auth.AuthorizeUrl, TokenUrl = Auth.TokenUrl, BaseUrl = Upstream.BaseUrl };
        options.Providers["codex"] = new ProviderOptions { TokenUrl = Auth.TokenUrl, BaseUrl = Upstream.CodexBaseUrl };
        // The background pass (which also deletes expired sessions) runs hourly here, so expiry is observable.
        options.TokenRefreshIntervalMs = 3_600_000;
    }

    private async Task<(string SessionId, Uri AuthUrl)> InitAsync(string provider, string name)
    {
        using var response = await Host.Client.PostAsJsonAsync($"/api/auth/{provider}/init", new { name });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("success").GetBoolean());
        var data = json.RootElement.GetProperty("data");
        Assert.Equal(provider, data.GetProperty("provider").GetString());
        return (data.GetProperty("sessionId").GetString()!, new Uri(data.GetProperty("authUrl").GetString()!));
    }

    private Task<HttpResponseMessage> CompleteAsync(string provider, string sessionId, string code) =>
        Host.Client.PostAsJsonAsync($"/api/auth/{provider}/complete", new { sessionId, code });

    private static string Base64UrlSha256(string value) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(value))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [Fact]
    public async Task Claude_code_sign_in_uses_pkce_and_the_account_proxies_with_its_bearer_token()
    {
        var (sessionId, authUrl) = await InitAsync("claude-code", "max-1");

        Assert.Equal(Auth.AuthorizeUrl, authUrl.GetLeftPart(UriPartial.Path));
        var query = QueryHelpers.ParseQuery(authUrl.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("9d1c250a-e61b-44d9-88ed-5944d1962f5e", query["client_id"]);
        Assert.Equal("org:create_api_key user:profile user:inference", query["scope"]);
        Assert.Equal("https://platform.claude.com/oauth/code/callback", query["redirect_uri"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal("true", query["code"]);
        var state = query["state"].ToString();
        Assert.True(state.Length >= 43);

        using var complete = await CompleteAsync("claude-code", sessionId, "auth-code-123#" + state);
        var body = await complete.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        using (var json = JsonDocument.Parse(body))
        {
            Assert.True(json.RootElement.GetProperty("success").GetBoolean());
            Assert.Equal("claude-code", json.RootElement.GetProperty("data").GetProperty("provider").GetString());
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("data").GetProperty("accountId").GetString()));
        }

        var token = Assert.Single(Auth.Requests);
        Assert.True(token.IsJson);
        Assert.Equal("authorization_code", token["grant_type"]);
        Assert.Equal("auth-code-123", token["code"]);
        Assert.Equal(state, token["state"]);
        Assert.Equal("9d1c250a-e61b-44d9-88ed-5944d1962f5e", token["client_id"]);
        Assert.Equal("https://platform.claude.com/oauth/code/callback", token["redirect_uri"]);
        var verifier = token["code_verifier"]!;
        Assert.InRange(verifier.Length, 43, 128);
        Assert.Equal(query["code_challenge"].ToString(), Base64UrlSha256(verifier));

        using var proxied = await Host.Client.PostAsync("/v1/claude-code/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        var received = Assert.Single(Upstream.Received);
        Assert.Equal("Bearer at-1", received.Header("authorization"));
        Assert.Null(received.Header("x-api-key"));

        var accounts = await Host.Client.GetStringAsync("/api/accounts");
        Assert.Contains("\"auth_method\":\"oauth\"", accounts, StringComparison.Ordinal);
        Assert.DoesNotContain("at-1", accounts, StringComparison.Ordinal);
        Assert.DoesNotContain("rt-1", accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Codex_sign_in_uses_form_encoded_token_requests_and_proxies_with_bearer()
    {
        var (sessionId, authUrl) = await InitAsync("codex", "chatgpt-1");

        Assert.Equal("https://auth.openai.com/oauth/authorize", authUrl.GetLeftPart(UriPartial.Path));
        var query = QueryHelpers.ParseQuery(authUrl.Query);
        Assert.Equal("codex_cli_rs", query["originator"]);
        Assert.Equal("app_EMoamEEZ73f0CkXaXp7hrann", query["client_id"]);
        Assert.Equal("openid profile email offline_access", query["scope"]);
        Assert.Equal("http://localhost:1455/auth/callback", query["redirect_uri"]);
        Assert.Equal("S256", query["code_challenge_method"]);

        using var complete = await CompleteAsync("codex", sessionId, "codex-code");
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);

        var token = Assert.Single(Auth.Requests);
        Assert.StartsWith("application/x-www-form-urlencoded", token.ContentType, StringComparison.Ordinal);
        Assert.Equal("authorization_code", token["grant_type"]);
        Assert.Equal("codex-code", token["code"]);
        Assert.Equal("app_EMoamEEZ73f0CkXaXp7hrann", token["client_id"]);
        Assert.Equal(query["code_challenge"].ToString(), Base64UrlSha256(token["code_verifier"]!));

        using var proxied = await Host.Client.PostAsync("/v1/codex/responses",
            new StringContent("""{"model":"gpt-5-codex","input":"Hi"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        var received = Assert.Single(Upstream.Received);
        Assert.Equal("/backend-api/codex/responses", received.Path);
        Assert.Equal("Bearer at-1", received.Header("authorization"));
    }

    [Theory]
    [InlineData("nope", HttpStatusCode.BadRequest)]
    [InlineData("anthropic", HttpStatusCode.BadRequest)]
    [InlineData("openai", HttpStatusCode.BadRequest)]
    public async Task Init_rejects_unknown_and_api_key_providers(string provider, HttpStatusCode expected)
    {
        using var response = await Host.Client.PostAsJsonAsync($"/api/auth/{provider}/init", new { name = "x" });
        Assert.Equal(expected, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(provider, json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_validates_the_name_and_rejects_duplicates()
    {
        using (var blank = await Host.Client.PostAsJsonAsync("/api/auth/claude-code/init", new { name = " " }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        }
        await Host.AddAccountAsync("taken", "anthropic", "sk-ant-1", Upstream.BaseUrl);
        using var duplicate = await Host.Client.PostAsJsonAsync("/api/auth/claude-code/init", new { name = "taken" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
    }

    [Fact]
    public async Task Unknown_reused_and_mismatched_sessions_get_clear_errors()
    {
        using (var unknown = await CompleteAsync("claude-code", "no-such-session", "code"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("not found", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var (sessionId, _) = await InitAsync("claude-code", "reuse");
        using (var mismatch = await CompleteAsync("claude-code", sessionId, "code#some-other-state"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
            Assert.Contains("state", await mismatch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var wrongProvider = await CompleteAsync("codex", sessionId, "code"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongProvider.StatusCode);
        }
        Assert.Empty(Auth.Requests);

        using (var status = await Host.Client.GetAsync($"/api/auth/session/{sessionId}/status"))
        {
            Assert.Contains("\"status\":\"pending\"", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var first = await CompleteAsync("claude-code", sessionId, "code"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        using (var status = await Host.Client.GetAsync($"/api/auth/session/{sessionId}/status"))
        {
            Assert.Contains("\"status\":\"completed\"", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var again = await CompleteAsync("claude-code", sessionId, "code"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
            Assert.Contains("already completed", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Single(Auth.Requests);
        // As ccflare: a session the server does not know is over for the polling dashboard.
        using var missing = await Host.Client.GetAsync("/api/auth/session/nope/status");
        Assert.Equal(HttpStatusCode.OK, missing.StatusCode);
        Assert.Equal("""{"status":"expired"}""", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sessions_expire_after_ten_minutes()
    {
        var (sessionId, _) = await InitAsync("claude-code", "late");
        Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        using (var status = await Host.Client.GetAsync($"/api/auth/session/{sessionId}/status"))
        {
            Assert.Contains("\"status\":\"expired\"", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var complete = await CompleteAsync("claude-code", sessionId, "code");
        Assert.Equal(HttpStatusCode.BadRequest, complete.StatusCode);
        Assert.Contains("expired", await complete.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(Auth.Requests);
        using var after = await CompleteAsync("claude-code", sessionId, "code");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task The_background_pass_deletes_expired_sessions()
    {
        var (sessionId, _) = await InitAsync("claude-code", "abandoned");
        var store = Host.Services.GetRequiredService<ICcflareStore>();
        Assert.NotNull(await store.GetAuthSessionAsync(sessionId, CancellationToken.None));

        Time.Advance(TimeSpan.FromHours(1));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await store.GetAuthSessionAsync(sessionId, CancellationToken.None) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Null(await store.GetAuthSessionAsync(sessionId, CancellationToken.None));
        using var status = await Host.Client.GetAsync($"/api/auth/session/{sessionId}/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains("\"status\":\"expired\"", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_endpoint_failure_is_a_502_with_the_upstream_message_and_no_code_or_verifier()
    {
        Auth.Respond = r => (400, JsonSerializer.Serialize(new { error = "invalid_grant", error_description = "Invalid authorization code " + r["code"] + " for verifier " + r["code_verifier"] }));
        var (sessionId, _) = await InitAsync("claude-code", "bad-code");

        using var complete = await CompleteAsync("claude-code", sessionId, "secret-code-xyz");
        var body = await complete.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, complete.StatusCode);
        Assert.Contains("invalid_grant", body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-code-xyz", body, StringComparison.Ordinal);
        Assert.DoesNotContain(Assert.Single(Auth.Requests)["code_verifier"]!, body, StringComparison.Ordinal);
        var accounts = await Host.Client.GetStringAsync("/api/accounts");
        Assert.DoesNotContain("bad-code", accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Browser_callback_completes_the_sign_in_and_shows_a_page()
    {
        var (_, authUrl) = await InitAsync("claude-code", "via-browser");
        var state = QueryHelpers.ParseQuery(authUrl.Query)["state"].ToString();

        using var page = await Host.Client.GetAsync($"/oauth/claude-code/callback?code=browser-code&state={Uri.EscapeDataString(state)}");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("via-browser", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("browser-code", Assert.Single(Auth.Requests)["code"]);

        using var unknown = await Host.Client.GetAsync("/oauth/claude-code/callback?code=x&state=unknown");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Sign_in_state_is_encrypted_in_the_store()
    {
        var (sessionId, _) = await InitAsync("claude-code", "stored");
        var raw = Host.Services.GetRequiredService<ICcflareStore>();
        var session = await raw.GetAuthSessionAsync(sessionId, CancellationToken.None);
        Assert.NotNull(session);
        Assert.StartsWith(SecretProtector.Prefix, session.StateJson, StringComparison.Ordinal);
        Assert.DoesNotContain("verifier", session.StateJson, StringComparison.Ordinal);
    }
}
