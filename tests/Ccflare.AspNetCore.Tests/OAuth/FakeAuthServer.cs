using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.OAuth;

/// <summary>A token request the fake authorization server received.</summary>
public sealed record TokenRequest(string ContentType, IReadOnlyDictionary<string, string> Fields, string RawBody)
{
    public string? this[string name] => Fields.TryGetValue(name, out var value) ? value : null;

    public bool IsJson => ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// An OAuth authorization server on 127.0.0.1 with a token endpoint (<c>POST /token</c>) that accepts
/// JSON (Claude) or form (Codex) bodies. By default it issues <c>at-N</c>/<c>rt-N</c> tokens valid for an hour.
/// </summary>
public sealed class FakeAuthServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _issued;

    private FakeAuthServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public string TokenUrl => BaseUrl + "/token";

    public string AuthorizeUrl => BaseUrl + "/authorize";

    public ConcurrentQueue<TokenRequest> Requests { get; } = new();

    public int RefreshCalls => Requests.Count(r => r["grant_type"] == "refresh_token");

    /// <summary>Answers token requests instead of the default when set: returns (status, JSON body).</summary>
    public Func<TokenRequest, (int Status, string Json)>? Respond { get; set; }

    /// <summary>Delay before answering (to make concurrent callers overlap).</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<FakeAuthServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeAuthServer(app);
        app.MapPost("/token", server.HandleTokenAsync);
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    private async Task HandleTokenAsync(HttpContext context)
    {
        var contentType = context.Request.ContentType ?? "";
        using var reader = new StreamReader(context.Request.Body);
        var raw = await reader.ReadToEndAsync();
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            using var json = JsonDocument.Parse(raw);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                fields[property.Name] = property.Value.ToString();
            }
        }
        else
        {
            foreach (var (key, value) in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(raw))
            {
                fields[key] = value.ToString();
            }
        }
        var request = new TokenRequest(contentType, fields, raw);
        Requests.Enqueue(request);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }
        var (status, body) = Respond?.Invoke(request) ?? Default();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    }

    private (int, string) Default()
    {
        var n = Interlocked.Increment(ref _issued);
        return (200, JsonSerializer.Serialize(new { access_token = $"at-{n}", refresh_token = $"rt-{n}", expires_in = 3600, token_type = "Bearer" }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
