using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Management;

public sealed class AccountEndpointTests : IAsyncLifetime
{
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync() => _host = await CcflareTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await _host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Create_list_update_pause_resume_rename_delete()
    {
        var (status, created) = await SendAsync(HttpMethod.Post, "/api/accounts",
            """{"name":"work","provider":"anthropic","api_key":"sk-ant-secret-value-123456","base_url":"http://127.0.0.1:9/","weight":3}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True(created.GetProperty("success").GetBoolean());
        var id = created.GetProperty("account").GetProperty("id").GetString()!;

        var (_, list) = await SendAsync(HttpMethod.Get, "/api/accounts");
        var account = Assert.Single(list.EnumerateArray());
        Assert.Equal("work", account.GetProperty("name").GetString());
        Assert.Equal("anthropic", account.GetProperty("provider").GetString());
        Assert.Equal("api_key", account.GetProperty("auth_method").GetString());
        Assert.Equal("http://127.0.0.1:9/", account.GetProperty("base_url").GetString());
        Assert.Equal(3, account.GetProperty("weight").GetInt32());
        Assert.Equal(0, account.GetProperty("requestCount").GetInt64());
        Assert.False(account.GetProperty("paused").GetBoolean());
        Assert.Equal("valid", account.GetProperty("tokenStatus").GetString());
        Assert.False(account.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean());
        Assert.False(account.GetProperty("sessionInfo").GetProperty("active").GetBoolean());
        Assert.DoesNotContain("sk-ant-secret", list.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("api_key\":", list.GetRawText().Replace("\"auth_method\":\"api_key\"", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var (patchStatus, patched) = await SendAsync(HttpMethod.Patch, $"/api/accounts/{id}", """{"base_url":null,"weight":5}""");
        Assert.Equal(HttpStatusCode.OK, patchStatus);
        Assert.Equal(JsonValueKind.Null, patched.GetProperty("account").GetProperty("base_url").ValueKind);
        Assert.Equal(5, patched.GetProperty("account").GetProperty("weight").GetInt32());

        var (pauseStatus, paused) = await SendAsync(HttpMethod.Post, $"/api/accounts/{id}/pause");
        Assert.Equal(HttpStatusCode.OK, pauseStatus);
        Assert.Equal("Account 'work' paused", paused.GetProperty("message").GetString());
        Assert.True((await SendAsync(HttpMethod.Get, "/api/accounts")).Body[0].GetProperty("paused").GetBoolean());

        var (_, resumed) = await SendAsync(HttpMethod.Post, $"/api/accounts/{id}/resume");
        Assert.Equal("Account 'work' resumed", resumed.GetProperty("message").GetString());
        Assert.False((await SendAsync(HttpMethod.Get, "/api/accounts")).Body[0].GetProperty("paused").GetBoolean());

        var (renameStatus, renamed) = await SendAsync(HttpMethod.Post, $"/api/accounts/{id}/rename", """{"name":"personal"}""");
        Assert.Equal(HttpStatusCode.OK, renameStatus);
        Assert.Equal("personal", renamed.GetProperty("newName").GetString());

        var (deleteStatus, deleted) = await SendAsync(HttpMethod.Delete, $"/api/accounts/{id}");
        Assert.Equal(HttpStatusCode.OK, deleteStatus);
        Assert.True(deleted.GetProperty("success").GetBoolean());
        Assert.Empty((await SendAsync(HttpMethod.Get, "/api/accounts")).Body.EnumerateArray());
        Assert.Empty(await _host.Services.GetRequiredService<ICcflareStore>().GetAccountsAsync(default));
    }

    [Theory]
    [InlineData("""{"provider":"anthropic","api_key":"k"}""", "name is required")]
    [InlineData("""{"name":"  ","provider":"anthropic","api_key":"k"}""", "name is required")]
    [InlineData("""{"name":"a\u0001b","provider":"anthropic","api_key":"k"}""", "control characters")]
    [InlineData("""{"name":"x","api_key":"k"}""", "provider is required")]
    [InlineData("""{"name":"x","provider":"mistral","api_key":"k"}""", "provider 'mistral' is unknown")]
    [InlineData("""{"name":"x","provider":"anthropic"}""", "api_key is required")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","base_url":"ftp://x"}""", "base_url must be")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","base_url":"not a url"}""", "base_url must be")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","weight":0}""", "weight must be between")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","priority":-1}""", "priority must be between")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","priority":"high"}""", "not valid JSON")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k","auth_method":"magic"}""", "auth_method must be")]
    [InlineData("""{"name":"x","provider":"claude-code","auth_method":"oauth"}""", "OAuth accounts need")]
    [InlineData("""{"name":"x","provider":"anthropic","api_key":"k\r\nx-evil: 1"}""", "api_key is not a valid key")]
    [InlineData("""{"name":"x",""", "not valid JSON")]
    [InlineData("""[1,2]""", "not valid JSON")]
    [InlineData("", "A JSON request body is required")]
    [InlineData("""{"name":123,"provider":"anthropic","api_key":"k"}""", "not valid JSON")]
    public async Task Create_rejects_bad_input_with_400_and_stores_nothing(string body, string expected)
    {
        var (status, error) = await SendAsync(HttpMethod.Post, "/api/accounts", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _host.Services.GetRequiredService<ICcflareStore>().GetAccountsAsync(default));
    }

    [Fact]
    public async Task Priority_is_set_on_create_changed_by_patch_and_listed()
    {
        var (status, created) = await SendAsync(HttpMethod.Post, "/api/accounts", """{"name":"spare","provider":"anthropic","api_key":"k","priority":2}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(2, created.GetProperty("account").GetProperty("priority").GetInt32());
        var id = created.GetProperty("account").GetProperty("id").GetString()!;
        var plain = await _host.AddAccountAsync("plain", "anthropic", "k2", "http://127.0.0.1:9");

        var (patchStatus, patched) = await SendAsync(HttpMethod.Patch, $"/api/accounts/{id}", """{"priority":5}""");
        Assert.Equal(HttpStatusCode.OK, patchStatus);
        Assert.Equal(5, patched.GetProperty("account").GetProperty("priority").GetInt32());

        var (_, list) = await SendAsync(HttpMethod.Get, "/api/accounts");
        Assert.Equal(5, list.EnumerateArray().Single(a => a.GetProperty("id").GetString() == id).GetProperty("priority").GetInt32());
        Assert.Equal(0, list.EnumerateArray().Single(a => a.GetProperty("id").GetString() == plain).GetProperty("priority").GetInt32());
        Assert.Equal(JsonValueKind.Null, list[0].GetProperty("usage").ValueKind);
    }

    [Fact]
    public async Task Duplicate_names_are_409()
    {
        await _host.AddAccountAsync("same", "anthropic", "k1", "http://127.0.0.1:9");
        var otherId = await _host.AddAccountAsync("other", "openai", "k2", "http://127.0.0.1:9");

        var (createStatus, createError) = await SendAsync(HttpMethod.Post, "/api/accounts", """{"name":"same","provider":"openai","api_key":"k3"}""");
        var (renameStatus, _) = await SendAsync(HttpMethod.Post, $"/api/accounts/{otherId}/rename", """{"name":"same"}""");
        var (patchStatus, _) = await SendAsync(HttpMethod.Patch, $"/api/accounts/{otherId}", """{"name":"same"}""");

        Assert.Equal(HttpStatusCode.Conflict, createStatus);
        Assert.Contains("already exists", createError.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Conflict, renameStatus);
        Assert.Equal(HttpStatusCode.Conflict, patchStatus);
        Assert.Equal(2, (await SendAsync(HttpMethod.Get, "/api/accounts")).Body.GetArrayLength());
    }

    [Theory]
    [InlineData("DELETE", "/api/accounts/nope", null)]
    [InlineData("POST", "/api/accounts/nope/pause", null)]
    [InlineData("POST", "/api/accounts/nope/resume", null)]
    [InlineData("POST", "/api/accounts/nope/rename", """{"name":"x"}""")]
    [InlineData("PATCH", "/api/accounts/nope", """{"name":"x"}""")]
    public async Task Unknown_ids_are_404(string method, string path, string? body)
    {
        var (status, error) = await SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("not found", error.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{}""", "Nothing to update")]
    [InlineData("""{"weight":1001}""", "weight must be between")]
    [InlineData("""{"priority":1001}""", "priority must be between")]
    [InlineData("""{"base_url":42}""", "base_url must be a string or null")]
    [InlineData("""{"base_url":"javascript:alert(1)"}""", "base_url must be")]
    [InlineData("""{"name":""}""", "name is required")]
    public async Task Patch_rejects_bad_input(string body, string expected)
    {
        var id = await _host.AddAccountAsync("acc", "anthropic", "k", "http://127.0.0.1:9");

        var (status, error) = await SendAsync(HttpMethod.Patch, $"/api/accounts/{id}", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:9", (await SendAsync(HttpMethod.Get, "/api/accounts")).Body[0].GetProperty("base_url").GetString());
    }

    [Fact]
    public async Task Rename_requires_a_valid_name()
    {
        var id = await _host.AddAccountAsync("acc", "anthropic", "k", "http://127.0.0.1:9");

        var (status, error) = await SendAsync(HttpMethod.Post, $"/api/accounts/{id}/rename", """{"name":""}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("name is required", error.GetProperty("error").GetString());
    }

    [Fact]
    public async Task OAuth_accounts_with_stored_tokens_can_be_created_and_report_token_status()
    {
        var expires = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        var (status, _) = await SendAsync(HttpMethod.Post, "/api/accounts",
            $$"""{"name":"max","provider":"claude-code","auth_method":"oauth","access_token":"sk-ant-oat-secret","refresh_token":"sk-ant-ort-secret","expires_at":{{expires}}}""");
        Assert.Equal(HttpStatusCode.Created, status);

        var (_, list) = await SendAsync(HttpMethod.Get, "/api/accounts");
        var account = list[0];
        Assert.Equal("oauth", account.GetProperty("auth_method").GetString());
        Assert.Equal("expired", account.GetProperty("tokenStatus").GetString());
        Assert.DoesNotContain("secret", list.GetRawText(), StringComparison.Ordinal);
    }
}
