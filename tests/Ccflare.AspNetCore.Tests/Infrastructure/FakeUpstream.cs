using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Infrastructure;

/// <summary>A request the fake upstream received.</summary>
public sealed record ReceivedRequest(string Method, string Path, string QueryString, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>The credential the request carried (x-api-key, or the bearer token).</summary>
    public string? Credential => Header("x-api-key") ?? (Header("authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null);
}

/// <summary>
/// An in-process Anthropic/OpenAI/Codex stand-in on 127.0.0.1 that speaks their wire formats:
/// Messages, Chat Completions and Responses, JSON and SSE. Tests script per-credential behaviour.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HttpContext, ReceivedRequest, Task>> _byCredential = new(StringComparer.Ordinal);

    private FakeUpstream(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Base URL for OpenAI accounts (the fake serves OpenAI under /v1).</summary>
    public string OpenAIBaseUrl => BaseUrl + "/v1";

    /// <summary>Base URL for Codex accounts.</summary>
    public string CodexBaseUrl => BaseUrl + "/backend-api/codex";

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>False to drain request bodies without keeping them (tests that send tens of megabytes).</summary>
    public bool KeepBodies { get; set; } = true;

    /// <summary>Handles every request first when set (before per-credential scripts and defaults).</summary>
    public Func<HttpContext, ReceivedRequest, Task>? Override { get; set; }

    /// <summary>
    /// What the usage endpoints (Claude's <c>…/oauth/usage</c>, ChatGPT's <c>…/wham/usage</c>) answer for a
    /// bearer token: a JSON body in the endpoint's shape (<see cref="WireFormats.ClaudeOAuthUsage"/>,
    /// <see cref="WireFormats.CodexUsage"/>). Tokens not listed get a plan with nothing used yet.
    /// </summary>
    public ConcurrentDictionary<string, string> UsageAnswers { get; } = new(StringComparer.Ordinal);

    /// <summary>Handles usage endpoint requests instead of <see cref="UsageAnswers"/> when set (errors, 429s, hangs).</summary>
    public Func<HttpContext, ReceivedRequest, Task>? UsageOverride { get; set; }

    /// <summary>The usage endpoint requests received so far.</summary>
    public IReadOnlyList<ReceivedRequest> UsageRequests => Received.Where(r => IsUsagePath(r.Path)).ToArray();

    /// <summary>Scripts how requests carrying <paramref name="credential"/> are answered.</summary>
    public void ScriptFor(string credential, Func<HttpContext, ReceivedRequest, Task> handler) => _byCredential[credential] = handler;

    public void ClearScript(string credential) => _byCredential.TryRemove(credential, out _);

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null).UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeUpstream(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private async Task HandleAsync(HttpContext context)
    {
        string body;
        if (KeepBodies)
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync();
        }
        else
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            body = "";
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.Headers)
        {
            headers[name] = value.ToString();
        }
        var received = new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body);
        Received.Enqueue(received);

        if (Override is { } handler)
        {
            await handler(context, received);
            return;
        }
        if (IsUsagePath(received.Path))
        {
            await (UsageOverride ?? AnswerUsageAsync)(context, received);
            return;
        }
        if (received.Credential is { } credential && _byCredential.TryGetValue(credential, out var scripted))
        {
            await scripted(context, received);
            return;
        }
        await DefaultAsync(context, received);
    }

    private static bool IsUsagePath(string path) =>
        path.EndsWith("/oauth/usage", StringComparison.Ordinal) || path.EndsWith("/wham/usage", StringComparison.Ordinal);

    /// <summary>
    /// The usage endpoints as the real ones behave: GET with a bearer token; Claude's refuses a token
    /// sent without the OAuth beta flag, as Anthropic does.
    /// </summary>
    public Task AnswerUsageAsync(HttpContext context, ReceivedRequest request)
    {
        if (request.Method != "GET")
        {
            return WriteJsonAsync(context, 405, """{"error":{"type":"invalid_request_error","message":"Method not allowed"}}""");
        }
        var claude = request.Path.EndsWith("/oauth/usage", StringComparison.Ordinal);
        if (request.Header("authorization") is not { } auth || !auth.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return WriteJsonAsync(context, 401, """{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}""");
        }
        if (claude && !(request.Header("anthropic-beta") ?? "").Contains("oauth-2025-04-20", StringComparison.Ordinal))
        {
            return WriteJsonAsync(context, 401, """{"type":"error","error":{"type":"authentication_error","message":"OAuth authentication is currently not supported."}}""");
        }
        if (UsageAnswers.TryGetValue(request.Credential!, out var answer))
        {
            return WriteJsonAsync(context, 200, answer);
        }
        var now = DateTimeOffset.UtcNow;
        return WriteJsonAsync(context, 200, claude
            ? WireFormats.ClaudeOAuthUsage(0, null, 0, null)
            : WireFormats.CodexUsage(now, 0, now.AddHours(5), 0, now.AddDays(7)));
    }

    /// <summary>The standard answer for the request's API: a JSON body or an SSE stream.</summary>
    public static Task DefaultAsync(HttpContext context, ReceivedRequest request)
    {
        var json = string.IsNullOrEmpty(request.Body) ? null : JsonNode.Parse(request.Body) as JsonObject;
        var model = json?["model"]?.GetValue<string>() ?? "unknown-model";
        var stream = json?["stream"]?.GetValue<bool>() ?? false;
        var path = request.Path;
        if (path.EndsWith("/messages", StringComparison.Ordinal))
        {
            return stream ? WriteSseAsync(context, WireFormats.AnthropicStream(model, "Hello from fake")) : WriteJsonAsync(context, 200, WireFormats.AnthropicMessage(model, "Hello from fake"));
        }
        if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            var includeUsage = json?["stream_options"]?["include_usage"]?.GetValue<bool>() ?? false;
            return stream ? WriteSseAsync(context, WireFormats.ChatStream(model, "Hello from fake", includeUsage)) : WriteJsonAsync(context, 200, WireFormats.ChatCompletion(model, "Hello from fake"));
        }
        if (path.EndsWith("/responses", StringComparison.Ordinal))
        {
            if (path.StartsWith("/backend-api/codex/", StringComparison.Ordinal) && (!stream || json?["store"]?.GetValue<bool>() != false))
            {
                // The ChatGPT Codex backend takes nothing but streamed, unstored Responses requests.
                return WriteJsonAsync(context, 400, stream ? """{"detail":"Store must be set to false"}""" : """{"detail":"Stream must be set to true"}""");
            }
            return stream ? WriteSseAsync(context, WireFormats.ResponsesStream(model, "Hello from fake")) : WriteJsonAsync(context, 200, WireFormats.Response(model, "Hello from fake"));
        }
        if (path.EndsWith("/models", StringComparison.Ordinal))
        {
            return WriteJsonAsync(context, 200, """{"data":[{"id":"fake-model","object":"model"}],"object":"list"}""");
        }
        return WriteJsonAsync(context, 404, """{"error":{"type":"not_found_error","message":"Not found"}}""");
    }

    public static async Task WriteJsonAsync(HttpContext context, int status, string json, IDictionary<string, string>? headers = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }
        }
        await context.Response.WriteAsync(json);
    }

    public static async Task WriteSseAsync(HttpContext context, IEnumerable<string> events, Func<int, Task>? beforeEvent = null)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync();
        var index = 0;
        foreach (var sseEvent in events)
        {
            if (beforeEvent is not null)
            {
                await beforeEvent(index);
            }
            await context.Response.WriteAsync(sseEvent);
            await context.Response.Body.FlushAsync();
            index++;
        }
    }

    public static string Sse(string? eventName, object data)
    {
        var json = data as string ?? JsonSerializer.Serialize(data);
        return eventName is null ? $"data: {json}\n\n" : $"event: {eventName}\ndata: {json}\n\n";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
