using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// A real Kestrel Ccflare (CcflareTestHost) with a fake upstream, seeded accounts and request
/// history, and the <see cref="SpecShapedStubs"/> for endpoints that are not merged yet.
/// </summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    public const int SeededRequests = 10_000;
    public const decimal CostPerRequest = 0.0125m;
    public const int TokensPerRequest = 150;

    private DashboardHost(FakeUpstream upstream, CcflareTestHost host, StubState stubs, string prefix)
    {
        Upstream = upstream;
        Host = host;
        Stubs = stubs;
        Prefix = prefix;
    }

    public FakeUpstream Upstream { get; }

    public CcflareTestHost Host { get; }

    public StubState Stubs { get; }

    public string Prefix { get; }

    /// <summary>The dashboard's URL (ends with '/').</summary>
    public string DashboardUrl => Host.BaseUrl + Prefix + "/";

    public Dictionary<string, string> AccountIds { get; } = new();

    public static async Task<DashboardHost> StartAsync(string prefix = "", int seededRequests = SeededRequests)
    {
        var upstream = await FakeUpstream.StartAsync();
        var stubs = new StubState();
        var host = await CcflareTestHost.StartAsync(map: app =>
        {
            SpecShapedStubs.Map(app, prefix, stubs);
            app.MapCcflare(prefix);
        });
        var dashboard = new DashboardHost(upstream, host, stubs, prefix);
        await dashboard.SeedAsync(seededRequests);
        return dashboard;
    }

    /// <summary>Calls the management API under the host's prefix.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var text = await Host.Client.GetStringAsync(Prefix + path);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task SeedAsync(int count)
    {
        AccountIds["alpha"] = await AddAccountAsync("alpha", "anthropic", "sk-ant-alpha", Upstream.BaseUrl);
        AccountIds["beta"] = await AddAccountAsync("beta", "openai", "sk-openai-beta", Upstream.OpenAIBaseUrl);
        AccountIds["gamma"] = await AddAccountAsync("gamma", "anthropic", "sk-ant-gamma", Upstream.BaseUrl);

        // Rate-limit state as the proxy would have recorded it.
        var accounts = Host.Services.GetRequiredService<AccountService>();
        var now = DateTimeOffset.UtcNow;
        await accounts.UpdateAsync(AccountIds["gamma"], a => a with
        {
            RateLimitStatus = "rate_limited",
            RateLimitedUntil = now.AddMinutes(42),
            RateLimitReset = now.AddMinutes(42),
            RateLimitRemaining = 0,
            SessionStart = now.AddHours(-1),
        }, CancellationToken.None);
        await accounts.UpdateAsync(AccountIds["alpha"], a => a with
        {
            RateLimitStatus = "allowed_warning",
            RateLimitReset = now.AddHours(2),
            RateLimitRemaining = 1234,
            SessionStart = now.AddMinutes(-30),
            SessionRequestCount = 7,
        }, CancellationToken.None);

        var store = Host.Services.GetRequiredService<ICcflareStore>();
        var records = new List<RequestRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var openai = i % 4 == 3;
            var failed = i % 20 == 19;
            var account = openai ? "beta" : "alpha";
            records.Add(new RequestRecord
            {
                Id = $"seed-{i:D5}",
                Timestamp = now.AddMinutes(-2).AddMilliseconds(-(double)i * TimeSpan.FromHours(23).TotalMilliseconds / count),
                Method = "POST",
                Path = openai ? "/v1/openai/chat/completions" : "/v1/anthropic/v1/messages",
                Provider = openai ? "openai" : "anthropic",
                UpstreamPath = openai ? "/v1/chat/completions" : "/v1/messages",
                AccountUsed = AccountIds[account],
                AccountName = account,
                StatusCode = failed ? 500 : 200,
                ErrorMessage = failed ? "Upstream returned 500" : null,
                ResponseTimeMs = 200 + (i % 100) * 10,
                Model = openai ? "gpt-4o" : "claude-sonnet-4",
                InputTokens = 100,
                OutputTokens = 50,
                PromptTokens = 100,
                CompletionTokens = 50,
                TotalTokens = TokensPerRequest,
                CostUsd = CostPerRequest,
                OutputTokensPerSecond = openai ? 80 : 50,
                Payload = i switch
                {
                    0 => AnthropicToolConversation(),
                    3 => OpenAIToolConversation(),
                    _ => null,
                },
            });
        }
        await store.WriteRequestsAsync(records, CancellationToken.None);

        var t = now.AddMinutes(-5);
        Stubs.Logs.Enqueue(new { timestamp = t, level = "INFO", component = "server", message = "Ccflare started on port 8080", metadata = new { } });
        Stubs.Logs.Enqueue(new { timestamp = t.AddSeconds(1), level = "DEBUG", component = "proxy", message = "Selected account alpha by session strategy", metadata = new { } });
        Stubs.Logs.Enqueue(new { timestamp = t.AddSeconds(2), level = "WARN", component = "ratelimit", message = "Account gamma is rate limited until reset", metadata = new { account = "gamma" } });
        Stubs.Logs.Enqueue(new { timestamp = t.AddSeconds(3), level = "ERROR", component = "proxy", message = "Upstream returned 500 for seed request", metadata = new { } });
    }

    private async Task<string> AddAccountAsync(string name, string provider, string key, string baseUrl)
    {
        using var response = await Host.Client.PostAsJsonAsync(Prefix + "/api/accounts", new { name, provider, api_key = key, base_url = baseUrl });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("account").GetProperty("id").GetString()!;
    }

    private static RequestPayload AnthropicToolConversation() => new()
    {
        RequestHeaders = new Dictionary<string, string> { ["content-type"] = "application/json", ["anthropic-version"] = "2023-06-01", ["x-api-key"] = "sk-ant-***" },
        RequestBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            model = "claude-sonnet-4",
            max_tokens = 1024,
            system = "You are a weather assistant.",
            messages = new object[]
            {
                new { role = "user", content = "What is the weather in Paris?" },
                new { role = "assistant", content = new object[]
                {
                    new { type = "thinking", thinking = "The user wants Paris weather; call the tool." },
                    new { type = "tool_use", id = "toolu_01", name = "get_weather", input = new { city = "Paris" } },
                } },
                new { role = "user", content = new object[] { new { type = "tool_result", tool_use_id = "toolu_01", content = "18°C and sunny" } } },
            },
        })),
        ResponseStatus = 200,
        ResponseHeaders = new Dictionary<string, string> { ["content-type"] = "application/json" },
        ResponseBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            id = "msg_01", type = "message", role = "assistant", model = "claude-sonnet-4",
            content = new object[] { new { type = "text", text = "It is 18°C and sunny in Paris." } },
            usage = new { input_tokens = 100, output_tokens = 50 },
        })),
    };

    private static RequestPayload OpenAIToolConversation() => new()
    {
        RequestHeaders = new Dictionary<string, string> { ["content-type"] = "application/json", ["authorization"] = "Bearer ***" },
        RequestBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            model = "gpt-4o",
            messages = new object[]
            {
                new { role = "system", content = "You can look up stock prices." },
                new { role = "user", content = "Price of ACME?" },
                new { role = "assistant", content = (string?)null, tool_calls = new object[] { new { id = "call_1", type = "function", function = new { name = "get_price", arguments = "{\"ticker\":\"ACME\"}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = "{\"price\": 42.5}" },
            },
        })),
        ResponseStatus = 200,
        ResponseHeaders = new Dictionary<string, string> { ["content-type"] = "application/json" },
        ResponseBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1", @object = "chat.completion", model = "gpt-4o",
            choices = new object[] { new { index = 0, message = new { role = "assistant", content = "ACME trades at $42.50." }, finish_reason = "stop" } },
        })),
    };

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
