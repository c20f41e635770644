using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using OpenAI.Chat;

namespace Ccflare.Tests.Compat;

public sealed class CompatFailoverTests
{
    [Fact]
    public async Task Rate_limited_first_account_fails_over_to_the_second_on_a_compat_route()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a-1", "anthropic", "sk-ant-first-000001", upstream.BaseUrl);
        await host.AddAccountAsync("a-2", "anthropic", "sk-ant-second-00002", upstream.BaseUrl);
        upstream.ScriptFor("sk-ant-first-000001", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""", new Dictionary<string, string> { ["retry-after"] = "30" }));
        upstream.ScriptFor("sk-ant-second-00002", FakeUpstream.DefaultAsync);
        var chat = SdkClients.OpenAI(host.BaseUrl + "/v1/ccflare/openai").GetChatClient("anthropic/claude-sonnet-4-5");

        ChatCompletion first = await chat.CompleteChatAsync([new UserChatMessage("Hi")]);
        ChatCompletion second = await chat.CompleteChatAsync([new UserChatMessage("Hi again")]);

        Assert.Equal("Hello from fake", first.Content[0].Text);
        Assert.Equal("Hello from fake", second.Content[0].Text);
        var credentials = upstream.Received.Select(r => r.Credential).ToArray();
        Assert.Contains("sk-ant-first-000001", credentials);
        Assert.Equal("sk-ant-second-00002", credentials[^1]);
    }

    [Fact]
    public async Task No_account_in_the_family_is_a_503_json_error()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a-1", "anthropic", "sk-ant-only-0000001", upstream.BaseUrl);

        using var response = await host.Client.PostAsync("/v1/ccflare/anthropic/v1/messages",
            new StringContent("""{"model":"openai/gpt-4.1","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(503, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("codex or openai", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
    }
}
