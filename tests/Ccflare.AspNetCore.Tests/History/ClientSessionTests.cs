using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using OpenAI;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // The Responses client is marked experimental.

namespace Ccflare.Tests.History;

/// <summary>
/// Claude Code's <c>x-claude-code-session-id</c> and Codex's <c>session_id</c> headers are recorded as
/// <c>clientSessionId</c>, and <c>/api/requests</c> and <c>/api/requests/detail</c> filter by it, on every store.
/// </summary>
public sealed class ClientSessionTests
{
    /// <summary>Adds the headers a coding agent sends on every request.</summary>
    private sealed class SessionHeaders(string name, string value) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation(name, value);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private static Task<CcflareTestHost> StartAsync(string store, string directory) => CcflareTestHost.StartAsync(build: b =>
    {
        switch (store)
        {
            case "sqlite":
                b.UseSqliteStorage(Path.Combine(directory, "ccflare.db"));
                break;
            case "litedb":
                b.UseLiteDbStorage(Path.Combine(directory, "ccflare.litedb"));
                break;
        }
    });

    [Theory]
    [InlineData("memory")]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task Session_ids_from_Claude_Code_and_Codex_are_recorded_and_filter_the_history(string store)
    {
        var directory = Path.Combine(Path.GetTempPath(), "ccflare-session-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await using var upstream = await FakeUpstream.StartAsync();
            await using var host = await StartAsync(store, directory);
            await host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-account-secret-0001", upstream.BaseUrl);
            await host.AddAccountAsync("openai-1", "openai", "sk-openai-account-secret-0001", upstream.OpenAIBaseUrl);

            using var claudeHttp = new HttpClient(new SessionHeaders("x-claude-code-session-id", "claude-session-1"));
            var claude = new AnthropicClient { BaseUrl = host.BaseUrl + "/v1/anthropic", ApiKey = "client-side-key", MaxRetries = 0, HttpClient = claudeHttp };
            await claude.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 50, Messages = [new UserMessageParam("one")] });
            await claude.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 50, Messages = [new UserMessageParam("two")] });

            using var codexHttp = new HttpClient(new SessionHeaders("session_id", "0199a8e4-codex-session"));
            var codex = new OpenAIClient(new ApiKeyCredential("client-side-key"), new OpenAIClientOptions
            {
                Endpoint = new Uri(host.BaseUrl + "/v1/openai"),
                RetryPolicy = new ClientRetryPolicy(0),
                Transport = new HttpClientPipelineTransport(codexHttp),
            }).GetResponsesClient();
            await codex.CreateResponseAsync(BinaryContent.Create(BinaryData.FromString("""{"model":"gpt-5-codex","input":"three"}""")), new RequestOptions());

            // A client that sends no session header.
            await SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic").Messages.Create(
                new MessageCreateParams { Model = "claude-haiku-4-5", MaxTokens = 50, Messages = [new UserMessageParam("four")] });

            var all = await HistoryApi.RequestsAsync(host);
            Assert.Equal(4, all.Length);
            Assert.Equal(2, all.Count(r => r.Str("clientSessionId") == "claude-session-1"));
            Assert.Single(all, r => r.Str("clientSessionId") == "0199a8e4-codex-session");
            Assert.Single(all, r => r.GetProperty("clientSessionId").ValueKind == JsonValueKind.Null);

            var claudeRows = (await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests?clientSessionId=claude-session-1"))!;
            Assert.Equal(2, claudeRows.Length);
            Assert.All(claudeRows, r => Assert.Equal("claude-sonnet-4-5", r.Str("model")));
            Assert.True(claudeRows[0].GetProperty("timestamp").GetDateTimeOffset() >= claudeRows[1].GetProperty("timestamp").GetDateTimeOffset());

            var newestOnly = (await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests?clientSessionId=claude-session-1&limit=1"))!;
            Assert.Equal(claudeRows[0].Str("id"), Assert.Single(newestOnly).Str("id"));

            var codexRow = Assert.Single((await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests?clientSessionId=0199a8e4-codex-session"))!);
            Assert.Equal("gpt-5-codex", codexRow.Str("model"));

            var details = (await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests/detail?clientSessionId=claude-session-1"))!;
            Assert.Equal(2, details.Length);
            Assert.All(details, d => Assert.Equal("claude-session-1", d.GetProperty("request").GetProperty("headers").GetProperty("x-claude-code-session-id").GetString()));

            Assert.Empty((await host.Client.GetFromJsonAsync<JsonElement[]>("/api/requests?clientSessionId=no-such-session"))!);
            using var bad = await host.Client.GetAsync("/api/requests?clientSessionId=a&clientSessionId=b");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("clientSessionId", (await HistoryApi.JsonAsync(bad)).Str("error"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
