using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Tests.History;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Management;

/// <summary>JSON kinds a field of ccflare's management API may have.</summary>
[Flags]
public enum J
{
    String = 1,
    Number = 2,
    Bool = 4,
    Null = 8,
    Object = 16,
    Array = 32,
}

/// <summary>Assertions on the exact shape ccflare's dashboard reads.</summary>
internal static class Shape
{
    /// <summary>Every listed field is present with one of its allowed kinds (extra fields are Ccflare's additions and allowed).</summary>
    public static void Has(JsonElement element, params (string Name, J Kind)[] fields)
    {
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        foreach (var (name, kind) in fields)
        {
            Assert.True(element.TryGetProperty(name, out var value), $"'{name}' is missing from {element}");
            Assert.True(Matches(value, kind), $"'{name}' is {value.ValueKind}, expected {kind}, in {element}");
        }
    }

    /// <summary>Exactly the listed fields, nothing more (ccflare's dashboard validates these objects field by field).</summary>
    public static void Exactly(JsonElement element, params (string Name, J Kind)[] fields)
    {
        Has(element, fields);
        var names = element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(fields.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray(), names);
    }

    /// <summary>An object whose values are all strings (ccflare's header maps).</summary>
    public static void StringMap(JsonElement element)
    {
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        Assert.All(element.EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
    }

    private static bool Matches(JsonElement value, J kind) => value.ValueKind switch
    {
        JsonValueKind.String => kind.HasFlag(J.String),
        JsonValueKind.Number => kind.HasFlag(J.Number),
        JsonValueKind.True or JsonValueKind.False => kind.HasFlag(J.Bool),
        JsonValueKind.Null => kind.HasFlag(J.Null),
        JsonValueKind.Object => kind.HasFlag(J.Object),
        JsonValueKind.Array => kind.HasFlag(J.Array),
        _ => false,
    };

    /// <summary>ccflare's <c>RequestSummary</c> (a row of <c>/api/requests</c>, the payload of a <c>summary</c> event).</summary>
    public static void RequestSummary(JsonElement row)
    {
        const J NullableString = J.String | J.Null;
        const J NullableNumber = J.Number | J.Null;
        Has(row,
            ("id", J.String), ("timestamp", J.String), ("method", J.String), ("path", J.String), ("provider", J.String), ("upstreamPath", J.String),
            ("accountUsed", NullableString), ("accountName", NullableString), ("statusCode", NullableNumber), ("success", J.Bool | J.Null),
            ("errorMessage", NullableString), ("responseTimeMs", NullableNumber), ("failoverAttempts", J.Number), ("model", NullableString),
            ("promptTokens", NullableNumber), ("completionTokens", NullableNumber), ("totalTokens", NullableNumber), ("inputTokens", NullableNumber),
            ("cacheReadInputTokens", NullableNumber), ("cacheCreationInputTokens", NullableNumber), ("outputTokens", NullableNumber),
            ("reasoningTokens", NullableNumber), ("costUsd", NullableNumber), ("tokensPerSecond", NullableNumber), ("ttftMs", NullableNumber),
            ("proxyOverheadMs", NullableNumber), ("upstreamTtfbMs", NullableNumber), ("streamingDurationMs", NullableNumber),
            ("responseId", NullableString), ("previousResponseId", NullableString), ("responseChainId", NullableString),
            ("clientSessionId", NullableString), ("userId", NullableString), ("userName", NullableString));
        Assert.True(DateTimeOffset.TryParse(row.GetProperty("timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Contains(row.GetProperty("method").GetString(), HttpMethods);
    }

    /// <summary>ccflare's <c>RequestPayload</c> (an item of <c>/api/requests/detail</c> and of a conversation, the payload of a <c>payload</c> event).</summary>
    public static void RequestPayload(JsonElement item)
    {
        Has(item, ("id", J.String), ("request", J.Object), ("response", J.Object | J.Null), ("meta", J.Object));
        var request = item.GetProperty("request");
        Has(request, ("headers", J.Object), ("body", J.String | J.Null));
        StringMap(request.GetProperty("headers"));
        if (item.GetProperty("response") is { ValueKind: JsonValueKind.Object } response)
        {
            Has(response, ("status", J.Number), ("headers", J.Object), ("body", J.String | J.Null));
            StringMap(response.GetProperty("headers"));
        }
        if (item.TryGetProperty("error", out var error))
        {
            Assert.Equal(JsonValueKind.String, error.ValueKind);
        }
        var meta = item.GetProperty("meta");
        Has(meta, ("trace", J.Object), ("account", J.Object), ("transport", J.Object));
        var trace = meta.GetProperty("trace");
        Has(trace, ("timestamp", J.Number), ("method", J.String), ("path", J.String), ("responseId", J.String | J.Null),
            ("previousResponseId", J.String | J.Null), ("responseChainId", J.String | J.Null), ("clientSessionId", J.String | J.Null));
        Assert.Contains(trace.GetProperty("method").GetString(), HttpMethods);
        foreach (var optional in new[] { "provider", "upstreamPath" })
        {
            if (trace.TryGetProperty(optional, out var value))
            {
                Assert.Equal(JsonValueKind.String, value.ValueKind);
            }
        }
        Has(meta.GetProperty("account"), ("id", J.String | J.Null), ("name", J.String | J.Null));
        Has(meta.GetProperty("transport"), ("success", J.Bool), ("rateLimited", J.Bool), ("accountsAttempted", J.Number), ("pending", J.Bool),
            ("retry", J.Number), ("isStream", J.Bool), ("ttftMs", J.Number | J.Null), ("proxyOverheadMs", J.Number | J.Null),
            ("upstreamTtfbMs", J.Number | J.Null), ("streamingDurationMs", J.Number | J.Null));
    }

    /// <summary>ccflare's accepted methods (its dashboard drops an event with any other).</summary>
    public static readonly string[] HttpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "WS"];

    /// <summary>ccflare's accepted log levels.</summary>
    public static readonly string[] LogLevels = ["DEBUG", "INFO", "WARN", "ERROR"];

    public static void LogEvent(JsonElement line)
    {
        Has(line, ("ts", J.Number), ("level", J.String), ("msg", J.String));
        Assert.Contains(line.GetProperty("level").GetString(), LogLevels);
        Assert.InRange(line.GetProperty("ts").GetInt64(), new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), long.MaxValue);
    }
}

/// <summary>Which store a contract run records to.</summary>
public enum ContractStore
{
    InMemory,
    Sqlite,
    LiteDb,
    PostgreSql,
}

/// <summary>
/// One recorded scenario per store: a running Ccflare with access keys on, two providers' accounts, real SDK and
/// HTTP traffic through the proxy to the fake upstream (success, streaming, a Responses API chain and an upstream
/// 500), with both live streams listened to from before the first request.
/// </summary>
public abstract class ContractScenario : IAsyncLifetime
{
    public const string AnthropicKey = "sk-ant-contract-secret-01";
    public const string OpenAIKey = "sk-openai-contract-secret-02";
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromMinutes(2));
    private readonly List<Task> _readers = [];
    private string? _directory;

    protected abstract ContractStore Store { get; }

    public FakeUpstream Upstream { get; private set; } = null!;

    public CcflareTestHost Host { get; private set; } = null!;

    public string AccessKey { get; private set; } = null!;

    public string UserId { get; private set; } = null!;

    public JsonElement CreateUserResponse { get; private set; }

    public JsonElement CreateAccountResponse { get; private set; }

    public string AnthropicAccountId { get; private set; } = null!;

    public string PausedAccountId { get; private set; } = null!;

    /// <summary>The id of the second turn of the Responses API chain.</summary>
    public string ChainedRequestId { get; private set; } = null!;

    public ConcurrentQueue<string> RequestEvents { get; } = new();

    public ConcurrentQueue<string> LogEvents { get; } = new();

    public async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync();
        Upstream.ScriptFor(OpenAIKey, (context, request) => request.Path.EndsWith("/embeddings", StringComparison.Ordinal)
            ? FakeUpstream.WriteJsonAsync(context, 500, """{"error":{"type":"server_error","message":"upstream broke"}}""")
            : FakeUpstream.DefaultAsync(context, request));
        _directory = Directory.CreateTempSubdirectory("ccflare-contract-").FullName;
        var postgres = Store == ContractStore.PostgreSql
            ? await (await Ccflare.Storage.PostgreSql.Tests.PostgresServer.GetAsync()).CreateDatabaseAsync("contract")
            : null;
        Host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true, build: b =>
        {
            switch (Store)
            {
                case ContractStore.Sqlite:
                    b.UseSqliteStorage(Path.Combine(_directory, "ccflare.db"));
                    break;
                case ContractStore.LiteDb:
                    b.UseLiteDbStorage(Path.Combine(_directory, "ccflare.litedb"));
                    break;
                case ContractStore.PostgreSql:
                    b.UsePostgreSqlStorage(postgres!);
                    break;
            }
        }, host: b => b.Logging.SetMinimumLevel(LogLevel.Information));

        _readers.Add(Listen("/api/requests/stream", RequestEvents));
        _readers.Add(Listen("/api/logs/stream", LogEvents));
        await WaitForAsync(() => !RequestEvents.IsEmpty && !LogEvents.IsEmpty);

        using (var created = await Host.Client.PostAsJsonAsync("/api/users", new { name = "alice" }))
        {
            created.EnsureSuccessStatusCode();
            CreateUserResponse = await HistoryApi.JsonAsync(created);
            AccessKey = CreateUserResponse.GetProperty("key").GetString()!;
            UserId = CreateUserResponse.GetProperty("id").GetString()!;
        }
        using (var created = await Host.Client.PostAsJsonAsync("/api/accounts", new { name = "anthropic-1", provider = "anthropic", auth_method = "api_key", api_key = AnthropicKey, base_url = Upstream.BaseUrl }))
        {
            created.EnsureSuccessStatusCode();
            CreateAccountResponse = await HistoryApi.JsonAsync(created);
            AnthropicAccountId = CreateAccountResponse.GetProperty("data").GetProperty("accountId").GetString()!;
        }
        await Host.AddAccountAsync("openai-1", "openai", OpenAIKey, Upstream.OpenAIBaseUrl);
        PausedAccountId = await Host.AddAccountAsync("anthropic-paused", "anthropic", "sk-ant-contract-paused-03", Upstream.BaseUrl);
        using (var paused = await Host.Client.PostAsync($"/api/accounts/{PausedAccountId}/pause", null))
        {
            paused.EnsureSuccessStatusCode();
        }

        var anthropic = SdkClients.Anthropic(Host.BaseUrl + "/v1/anthropic", AccessKey);
        await anthropic.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Hi")] });
        await foreach (var _ in anthropic.Messages.CreateStreaming(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Stream")] }))
        {
        }
        var openai = SdkClients.OpenAI(Host.BaseUrl + "/v1/openai", AccessKey);
        await openai.GetChatClient("gpt-5").CompleteChatAsync("Hello");

        using var http = new HttpClient { BaseAddress = new Uri(Host.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AccessKey);
        using (var first = await http.PostAsJsonAsync("/v1/openai/responses", new { model = "gpt-5", input = "First turn" }))
        {
            first.EnsureSuccessStatusCode();
        }
        await Host.DrainHistoryAsync();
        using (var second = await http.PostAsync("/v1/openai/responses", new StringContent("""{"model":"gpt-5","input":"Second turn","previous_response_id":"resp_fake01"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            second.EnsureSuccessStatusCode();
        }
        using (var failed = await http.PostAsJsonAsync("/v1/openai/embeddings", new { model = "text-embedding-3-small", input = "x" }))
        {
            Assert.Equal(500, (int)failed.StatusCode);
        }
        await Host.DrainHistoryAsync();

        var rows = await HistoryApi.RequestsAsync(Host);
        ChainedRequestId = rows.First(r => r.Str("path") == "/v1/openai/responses" && r.Str("previousResponseId") == "resp_fake01").Str("id")!;
        await WaitForAsync(() => Events("payload").Count() >= rows.Length && Events("summary").Count() >= rows.Length);
    }

    /// <summary>The request stream's events of one type.</summary>
    public IEnumerable<JsonElement> Events(string type) =>
        RequestEvents.Select(e => JsonDocument.Parse(e).RootElement).Where(e => e.Str("type") == type);

    private Task Listen(string path, ConcurrentQueue<string> into) => Task.Run(async () =>
    {
        try
        {
            using var response = await Host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, _cts.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(_cts.Token);
            using var reader = new StreamReader(stream);
            string? eventName = null;
            while (await reader.ReadLineAsync(_cts.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    // Named events are not what ccflare's readers (listening to unnamed messages) see; keep them marked.
                    into.Enqueue(eventName is null ? line[6..] : "{\"namedEvent\":\"" + eventName + "\"}");
                }
                else if (line.Length == 0)
                {
                    eventName = null;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    });

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }
        Assert.True(condition(), "The expected stream events did not arrive.");
    }

    public async Task DisposeAsync()
    {
        await _cts.CancelAsync();
        await Host.DisposeAsync();
        await Task.WhenAll(_readers);
        await Upstream.DisposeAsync();
        _cts.Dispose();
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

public sealed class InMemoryContractScenario : ContractScenario
{
    protected override ContractStore Store => ContractStore.InMemory;
}

public sealed class SqliteContractScenario : ContractScenario
{
    protected override ContractStore Store => ContractStore.Sqlite;
}

public sealed class LiteDbContractScenario : ContractScenario
{
    protected override ContractStore Store => ContractStore.LiteDb;
}

/// <summary>PostgreSQL aggregates analytics in the database (<see cref="ICcflareRequestAggregates"/>), so this run also checks the grouped path.</summary>
public sealed class PostgreSqlContractScenario : ContractScenario
{
    protected override ContractStore Store => ContractStore.PostgreSql;
}
