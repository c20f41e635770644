using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using Ccflare.Accounts;
using Ccflare.Tests.History;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Ccflare.Tests.Providers;

/// <summary>
/// Providers defined by configuration (<c>zai</c>, Anthropic family) and in code (<c>router</c>,
/// OpenAI family, with extra headers), driven by the official SDKs through their native routes
/// and the compat routes, against the fake upstream.
/// </summary>
public sealed class ConfiguredProviderTests : IAsyncLifetime
{
    private const string ZaiKey = "zai-account-key-0001";
    private const string ZaiBearerKey = "zai-bearer-account-key-0002";
    private const string RouterKey = "sk-or-account-key-0003";
    private const string ClientKey = "client-side-secret-9999";

    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync(
            options =>
            {
                options.Providers["zai"] = new ProviderOptions { Family = "anthropic", BaseUrl = _upstream.BaseUrl + "/api/anthropic" };
                options.Providers["zai-bearer"] = new ProviderOptions { Family = "anthropic", BaseUrl = _upstream.BaseUrl + "/api/anthropic", Auth = "bearer" };
            },
            build: ccflare => ccflare.AddProvider("router", p =>
            {
                p.Family = "openai";
                p.BaseUrl = _upstream.BaseUrl + "/api/v1";
                p.ExtraHeaders["HTTP-Referer"] = "https://ccflare.example";
                p.ExtraHeaders["X-Title"] = "Ccflare";
            }));
        await AddAsync("z", "zai", ZaiKey);
        await AddAsync("zb", "zai-bearer", ZaiBearerKey);
        await AddAsync("r", "router", RouterKey);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task AddAsync(string name, string provider, string key)
    {
        using var response = await _host.Client.PostAsJsonAsync("/api/accounts", new { name, provider, api_key = key });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Anthropic_family_provider_gets_messages_with_x_api_key_on_its_native_route()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/zai", ClientKey);

        var message = await client.Messages.Create(new MessageCreateParams { Model = "glm-4.6", MaxTokens = 50, Messages = [new UserMessageParam("Hi")] });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from fake", text!.Text);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/api/anthropic/v1/messages", received.Path);
        Assert.Equal(ZaiKey, received.Header("x-api-key"));
        Assert.Null(received.Header("authorization"));
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains(ClientKey, StringComparison.Ordinal));

        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        Assert.Equal("zai", row.Str("provider"));
        Assert.Equal("/v1/messages", row.Str("upstreamPath"));
        Assert.Equal(200, row.Long("statusCode"));
    }

    [Fact]
    public async Task Anthropic_family_provider_with_bearer_auth_sends_authorization()
    {
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/zai-bearer", ClientKey);

        await client.Messages.Create(new MessageCreateParams { Model = "glm-4.6", MaxTokens = 50, Messages = [new UserMessageParam("Hi")] });

        var received = Assert.Single(_upstream.Received);
        Assert.Equal("Bearer " + ZaiBearerKey, received.Header("authorization"));
        Assert.Null(received.Header("x-api-key"));
    }

    [Fact]
    public async Task OpenAI_family_provider_gets_chat_completions_with_bearer_and_its_extra_headers()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/router", ClientKey).GetChatClient("moonshot/kimi-k2");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal("Hello from fake", completion.Content[0].Text);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/api/v1/chat/completions", received.Path);
        Assert.Equal("Bearer " + RouterKey, received.Header("authorization"));
        Assert.Null(received.Header("x-api-key"));
        Assert.Equal("https://ccflare.example", received.Header("http-referer"));
        Assert.Equal("Ccflare", received.Header("x-title"));
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains(ClientKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Compat_model_with_a_configured_provider_prefix_is_answered_through_messages()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/ccflare/openai").GetChatClient("zai/glm-4.6");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal("Hello from fake", completion.Content[0].Text);
        Assert.Equal(12, completion.Usage.InputTokenCount);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/api/anthropic/v1/messages", received.Path);
        Assert.Equal(ZaiKey, received.Header("x-api-key"));
        Assert.Equal("2023-06-01", received.Header("anthropic-version"));
        Assert.Equal("glm-4.6", JsonNode.Parse(received.Body)!["model"]!.GetValue<string>());
        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        Assert.Equal("zai", row.Str("provider"));
        Assert.Equal("/v1/messages", row.Str("upstreamPath"));
    }

    [Fact]
    public async Task Compat_model_with_a_configured_provider_prefix_streams_chat_chunks()
    {
        var chat = SdkClients.OpenAI(_host.BaseUrl + "/v1/ccflare/openai").GetChatClient("zai/glm-4.6");

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from fake", text.ToString());
        Assert.NotNull(usage);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/api/anthropic/v1/messages", received.Path);
        Assert.True(JsonNode.Parse(received.Body)!["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_configured_provider_fails_over_between_its_accounts_and_keeps_rate_limit_state()
    {
        const string secondKey = "zai-account-key-second";
        await AddAsync("z2", "zai", secondKey);
        var reset = DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        _upstream.ScriptFor(ZaiKey, (context, _) => FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""",
            new Dictionary<string, string> { ["anthropic-ratelimit-unified-status"] = "rejected", ["anthropic-ratelimit-unified-reset"] = reset }));
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/zai");

        await client.Messages.Create(new MessageCreateParams { Model = "glm-4.6", MaxTokens = 5, Messages = [new UserMessageParam("Hi")] });
        await client.Messages.Create(new MessageCreateParams { Model = "glm-4.6", MaxTokens = 5, Messages = [new UserMessageParam("Again")] });

        Assert.Equal([ZaiKey, secondKey, secondKey], _upstream.Received.Select(r => r.Credential));
        var limited = (await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/accounts"))!.Single(a => a.Str("name") == "z");
        Assert.True(limited.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean());
        var rows = await HistoryApi.RequestsAsync(_host);
        Assert.Contains(rows, r => r.Long("failoverAttempts") == 1 && r.Str("provider") == "zai");
    }

    [Fact]
    public async Task Health_and_the_provider_list_name_configured_providers_with_family_and_auth()
    {
        var health = await _host.Client.GetFromJsonAsync<JsonElement>("/health");
        var names = health.GetProperty("providers").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Equal(["anthropic", "claude-code", "openai", "codex", "zai", "zai-bearer", "router"], names);

        var providers = await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/providers");
        var zai = Assert.Single(providers!, p => p.Str("name") == "zai");
        Assert.Equal("anthropic", zai.Str("family"));
        Assert.False(zai.GetProperty("builtIn").GetBoolean());
        Assert.Equal(["api_key"], zai.GetProperty("authMethods").EnumerateArray().Select(m => m.GetString()));
        var codex = Assert.Single(providers!, p => p.Str("name") == "codex");
        Assert.Equal("openai", codex.Str("family"));
        Assert.Equal(["oauth"], codex.GetProperty("authMethods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("openai", Assert.Single(providers!, p => p.Str("name") == "router").Str("family"));
    }

    [Fact]
    public async Task Accounts_of_a_configured_provider_take_api_keys_only_and_unknown_providers_are_named()
    {
        using var oauth = await _host.Client.PostAsJsonAsync("/api/accounts", new { name = "zo", provider = "zai", auth_method = "oauth", access_token = "tok" });
        Assert.Equal(HttpStatusCode.BadRequest, oauth.StatusCode);
        Assert.Contains("api_key", (await HistoryApi.JsonAsync(oauth)).Str("error"), StringComparison.Ordinal);

        using var unknown = await _host.Client.PostAsJsonAsync("/api/accounts", new { name = "x", provider = "nowhere", api_key = "k" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var error = (await HistoryApi.JsonAsync(unknown)).Str("error")!;
        Assert.Contains("nowhere", error, StringComparison.Ordinal);
        Assert.Contains("anthropic, claude-code, openai, codex, zai, zai-bearer, router", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_whose_provider_is_gone_is_listed_as_such_and_never_selected()
    {
        const string orphanKey = "sk-orphan-account-key";
        var accounts = _host.Services.GetRequiredService<AccountService>();
        await accounts.AddAsync(new Account { Id = Guid.NewGuid().ToString(), Name = "orphan", Provider = "moonshot", ApiKey = orphanKey, BaseUrl = _upstream.BaseUrl, CreatedAt = DateTimeOffset.UtcNow }, default);

        var listed = await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/accounts");
        var orphan = Assert.Single(listed!, a => a.Str("name") == "orphan");
        Assert.False(orphan.GetProperty("providerConfigured").GetBoolean());
        Assert.True(Assert.Single(listed!, a => a.Str("name") == "z").GetProperty("providerConfigured").GetBoolean());

        using var native = await _host.Client.PostAsync("/v1/moonshot/v1/messages", JsonContent.Create(new { model = "m", max_tokens = 5, messages = Array.Empty<object>() }));
        Assert.Equal(HttpStatusCode.NotFound, native.StatusCode);
        using var compat = await _host.Client.PostAsync("/v1/ccflare/openai/chat/completions", JsonContent.Create(new { model = "moonshot/kimi", messages = new[] { new { role = "user", content = "Hi" } } }));
        Assert.Equal(HttpStatusCode.BadRequest, compat.StatusCode);
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/zai");
        for (var i = 0; i < 3; i++)
        {
            await client.Messages.Create(new MessageCreateParams { Model = "glm-4.6", MaxTokens = 5, Messages = [new UserMessageParam("Hi")] });
        }

        Assert.Equal(3, _upstream.Received.Count);
        Assert.DoesNotContain(_upstream.Received, r => r.Credential == orphanKey);
        Assert.Equal(0, (await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/accounts"))!.Single(a => a.Str("name") == "orphan").GetProperty("totalRequests").GetInt64());
    }
}
