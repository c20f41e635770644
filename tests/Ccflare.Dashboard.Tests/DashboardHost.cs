using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// A real Kestrel Ccflare (CcflareTestHost: the real <c>AddCcflare</c> and <c>MapCcflare(prefix)</c>)
/// with a fake upstream. Everything the dashboard shows is seeded through the product's own
/// mechanisms: accounts through <c>POST /api/accounts</c> and <see cref="AccountService"/>, request
/// history through <see cref="ICcflareStore"/>, log lines through a real <see cref="ILogger"/>
/// (so they pass through the real log buffer). Nothing answers in place of a real endpoint.
/// </summary>
internal sealed partial class DashboardHost : IAsyncDisposable
{
    public const int SeededRequests = 10_000;
    public const decimal CostPerRequest = 0.0125m;
    public const int TokensPerRequest = 150;

    /// <summary>Category of the seeded log lines: under "Ccflare" so the log buffer keeps every level; shown as component "Seed".</summary>
    public const string LogCategory = "Ccflare.Dashboard.Seed";

    private DashboardHost(FakeUpstream upstream, CcflareTestHost host, string prefix)
    {
        Upstream = upstream;
        Host = host;
        Prefix = prefix;
        Logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
    }

    public FakeUpstream Upstream { get; }

    public CcflareTestHost Host { get; }

    /// <summary>A real logger of the host: its lines reach <c>/api/logs/*</c> through the real log buffer.</summary>
    public ILogger Logger { get; }

    public string Prefix { get; }

    /// <summary>The dashboard's URL (ends with '/').</summary>
    public string DashboardUrl => Host.BaseUrl + Prefix + "/";

    public Dictionary<string, string> AccountIds { get; } = new();

    public static async Task<DashboardHost> StartAsync(string prefix = "", int seededRequests = SeededRequests)
    {
        var upstream = await FakeUpstream.StartAsync();
        var host = await CcflareTestHost.StartAsync(
            // A provider defined by configuration, so the dashboard's provider lists must come from the server.
            options => options.Providers["zai"] = new ProviderOptions { Family = "anthropic", BaseUrl = upstream.BaseUrl + "/api/anthropic" },
            // Ccflare's own categories at Debug, so the Logs page has every level to show and filter.
            host: builder => builder.Logging.AddFilter("Ccflare", LogLevel.Debug),
            map: app => app.MapCcflare(prefix));
        var dashboard = new DashboardHost(upstream, host, prefix);
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

        // The accounts' request counters as the proxy would have left them (GET /api/stats counts
        // accounts with a non-zero counter as active).
        var openaiRows = count / 4;
        await accounts.UpdateAsync(AccountIds["alpha"], a => a with { RequestCount = count - openaiRows, TotalRequests = count - openaiRows }, CancellationToken.None);
        await accounts.UpdateAsync(AccountIds["beta"], a => a with { RequestCount = openaiRows, TotalRequests = openaiRows }, CancellationToken.None);

        SeedLog.Started(Logger, 8080);
        SeedLog.Selected(Logger, "alpha", "session");
        SeedLog.RateLimited(Logger, "gamma");
        SeedLog.UpstreamFailed(Logger, 500, "seed-00019");
    }

    /// <summary>The seeded log lines, written the way product code writes them (source-generated LoggerMessage).</summary>
    internal static partial class SeedLog
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Seed server started on port {Port}")]
        public static partial void Started(ILogger logger, int port);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Debug, Message = "Selected account {Account} by {Strategy} strategy")]
        public static partial void Selected(ILogger logger, string account, string strategy);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Account {Account} is rate limited until reset")]
        public static partial void RateLimited(ILogger logger, string account);

        [LoggerMessage(EventId = 9004, Level = LogLevel.Error, Message = "Upstream returned {Status} for seed request {RequestId}")]
        public static partial void UpstreamFailed(ILogger logger, int status, string requestId);

        [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "Live log line number {Number}")]
        public static partial void Live(ILogger logger, int number);
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
