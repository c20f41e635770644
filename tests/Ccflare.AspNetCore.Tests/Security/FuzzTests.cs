using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Security;

/// <summary>
/// Thousands of generated malformed requests (deterministic seed) against the proxy and the
/// management API, over raw sockets and HttpClient.
/// </summary>
public sealed class FuzzTests
{
    private const int Seed = 20261126;
    private const int RawRequests = 1300;
    private const int ClientRequests = 1200;

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO", "post"];

    private static readonly string[] Prefixes =
    [
        "/v1/anthropic/", "/v1/anthropic/v1/messages", "/v1/openai/", "/v1/openai/chat/completions", "/v1/codex/", "/v1/claude-code/",
        "/v1/unknown/", "/v1/", "/v1", "/api/accounts", "/api/accounts/", "/api/accounts/{r}/pause", "/api/accounts/{r}/rename",
        "/api/config", "/api/config/strategy", "/api/users", "/api/users/{r}", "/api/requests?limit={r}", "/api/", "/health", "/", "/api/{r}",
    ];

    private static readonly string[] Segments =
    [
        "..", ".", "%2e%2e", "%252e%252e", "%2f", "%5c", "//", "%00", "%ff", "%", "%zz", "~", "v1", "messages", "a b", ";", "?x=1", "#",
        "%c0%ae%c0%ae", "http://evil.example", "@evil", ":", "%0d%0a", "%20", "\u00e9", "*", "{}", "[]",
    ];

    private static readonly string[] HeaderNames =
    [
        "x-api-key", "authorization", "content-type", "anthropic-version", "anthropic-beta", "openai-beta", "x-ccflare-user-id",
        "accept-encoding", "cookie", "x-forwarded-for", "user-agent", "x-random", "expect", "te", "connection",
    ];

    private static readonly string[] HeaderValues =
    [
        "Bearer ccfk_0000", "Bearer ", "junk", "application/json", "text/plain", "2023-06-01", "gzip, br", "\u00e9t\u00e9", "100-continue",
        "trailers", "close", "", new string('v', 300), "127.0.0.1", "ccfk_" + new string('a', 64),
    ];

    private static string RandomJson(Random random, int depth = 0)
    {
        switch (random.Next(depth > 3 ? 4 : 7))
        {
            case 0: return random.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 1: return JsonSerializer.Serialize(RandomText(random, 12));
            case 2: return random.Next(2) == 0 ? "true" : "null";
            case 3: return "\"" + Segments[random.Next(Segments.Length)].Replace("\"", "", StringComparison.Ordinal).Replace("\\", "", StringComparison.Ordinal) + "\"";
            case 4:
            case 5:
                var keys = new[] { "name", "provider", "api_key", "base_url", "weight", "strategy", "sessionDurationMs", "model", "messages", "stream", "auth_method", "x" };
                var parts = Enumerable.Range(0, random.Next(5)).Select(_ => $"\"{keys[random.Next(keys.Length)]}\":{RandomJson(random, depth + 1)}");
                return "{" + string.Join(",", parts) + "}";
            default:
                return "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1))) + "]";
        }
    }

    private static string RandomText(Random random, int max)
    {
        var chars = new char[random.Next(max + 1)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)random.Next(0x20, 0x7f);
        }
        return new string(chars);
    }

    private static byte[] RandomBody(Random random)
    {
        return random.Next(8) switch
        {
            0 => [],
            1 => Encoding.UTF8.GetBytes(RandomJson(random)),
            2 => Encoding.UTF8.GetBytes(Half(RandomJson(random))),
            3 => Enumerable.Range(0, random.Next(200)).Select(_ => (byte)random.Next(256)).ToArray(),
            4 => [.. "{\"name\":\""u8, 0xff, 0xc3, 0x28, .. "\"}"u8],
            5 => Encoding.ASCII.GetBytes(new string('[', random.Next(50, 3000))),
            6 => Encoding.UTF8.GetBytes("{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":5,\"messages\":[],\"pad\":\"" + new string('x', random.Next(20_000)) + "\"}"),
            _ => Encoding.UTF8.GetBytes(RandomJson(random) + RandomText(random, 5)),
        };
    }

    private static string Half(string text) => text[..(text.Length / 2)];

    private static string RandomPath(Random random)
    {
        var path = Prefixes[random.Next(Prefixes.Length)].Replace("{r}", RandomText(random, 6).Replace(" ", "%20", StringComparison.Ordinal).Replace("#", "", StringComparison.Ordinal).Replace("?", "", StringComparison.Ordinal), StringComparison.Ordinal);
        for (var i = random.Next(4); i > 0; i--)
        {
            path += (path.EndsWith('/') ? "" : "/") + Segments[random.Next(Segments.Length)];
        }
        return path;
    }

    private sealed record Outcome(string Method, string Path, int Status, string Body, string? ContentType);

    [Fact]
    public async Task Thousands_of_malformed_requests_get_json_errors_and_leave_the_store_consistent()
    {
        var upstream = await FakeUpstream.StartAsync();
        await using var _ = upstream;
        upstream.Override = (context, _) => FakeUpstream.WriteJsonAsync(context, 200, """{"ok":true}""");
        await using var host = await CcflareTestHost.StartAsync(host: b => b.WebHost.ConfigureKestrel(Ccflare.Security.CcflareKestrelLimits.Apply));
        var anthropicId = await host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-fuzz-account", upstream.BaseUrl + "/base");
        var openaiId = await host.AddAccountAsync("openai-1", "openai", "sk-openai-fuzz-account", upstream.OpenAIBaseUrl);
        // Read through account persistence, which decrypts: raw rows hold ciphertext, which changes on every rewrite.
        var store = host.Services.GetRequiredService<Ccflare.Accounts.AccountStore>();
        var before = (await store.GetAccountsAsync(default)).ToDictionary(a => a.Id);
        var baseUri = new Uri(host.BaseUrl);
        var outcomes = new ConcurrentBag<Outcome>();
        var created = 0;
        var watch = Stopwatch.StartNew();

        await Parallel.ForEachAsync(Enumerable.Range(0, RawRequests), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var random = new Random(Seed + i);
            var method = Methods[random.Next(Methods.Length)];
            var path = RandomPath(random);
            var body = RandomBody(random);
            var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (var h = random.Next(5); h > 0; h--)
            {
                head.Append(HeaderNames[random.Next(HeaderNames.Length)]).Append(": ").Append(HeaderValues[random.Next(HeaderValues.Length)]).Append("\r\n");
            }
            var truncated = random.Next(10) == 0 && body.Length > 2;
            head.Append(random.Next(12) == 0 ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {body.Length + (truncated ? 10 : 0)}\r\n");
            head.Append("Connection: close\r\n\r\n");
            var bytes = Encoding.UTF8.GetBytes(head.ToString()).Concat(body).ToArray();
            var response = await RawHttp.SendAsync(baseUri, bytes, TimeSpan.FromSeconds(20), halfClose: truncated);
            outcomes.Add(new Outcome(method, path, response.Status, response.Body, response.Header("content-type")));
        });

        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(20) };
        await Parallel.ForEachAsync(Enumerable.Range(0, ClientRequests), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var random = new Random(Seed * 7 + i);
            var method = Methods[random.Next(Methods.Length - 1)];
            var path = RandomPath(random).Replace(" ", "%20", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal);
            if (!Uri.TryCreate(baseUri, path, out var uri))
            {
                return;
            }
            using var request = new HttpRequestMessage(new HttpMethod(method), uri);
            var body = RandomBody(random);
            if (body.Length > 0 || method is "POST" or "PUT" or "PATCH")
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.TryAddWithoutValidation("content-type", random.Next(3) == 0 ? "text/plain" : "application/json");
            }
            for (var h = random.Next(4); h > 0; h--)
            {
                request.Headers.TryAddWithoutValidation(HeaderNames[random.Next(HeaderNames.Length)], HeaderValues[random.Next(HeaderValues.Length)]);
            }
            try
            {
                using var response = await client.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode == HttpStatusCode.Created && request.RequestUri!.AbsolutePath == "/api/accounts")
                {
                    Interlocked.Increment(ref created);
                }
                outcomes.Add(new Outcome(method, request.RequestUri!.AbsolutePath, (int)response.StatusCode, text, response.Content.Headers.ContentType?.ToString()));
            }
            catch (HttpRequestException)
            {
                // The client refused to send something (e.g. a header it validates); not a server outcome.
            }
        });
        watch.Stop();

        Assert.True(outcomes.Count >= 2000, $"only {outcomes.Count} outcomes");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {watch.Elapsed}");
        var problems = new List<string>();
        var protocolStatuses = new HashSet<int> { 400, 404, 405, 411, 413, 414, 417, 431, 501, 505 };
        foreach (var o in outcomes)
        {
            if (o.Status >= 500 && o.Status != 501 && o.Status != 502 && o.Status != 503 && o.Status != 505)
            {
                problems.Add($"{o.Status} for {o.Method} {o.Path}: {o.Body}");
            }
            if (ErrorJson.LooksLikeStackTrace(o.Body))
            {
                problems.Add($"stack trace for {o.Method} {o.Path}: {o.Body}");
            }
            if (o.Status >= 400 && o.Body.Length > 0 && !ErrorJson.IsError(o.Body))
            {
                problems.Add($"non-JSON error {o.Status} for {o.Method} {o.Path}: {o.Body[..Math.Min(200, o.Body.Length)]}");
            }
            if (o.Status >= 400 && o.Body.Length == 0 && o.Method is not "HEAD" && !protocolStatuses.Contains(o.Status))
            {
                problems.Add($"empty error {o.Status} for {o.Method} {o.Path}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(30)));

        // Still up.
        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // Only the account's base paths were ever reached upstream.
        foreach (var received in upstream.Received)
        {
            Assert.True(received.Path.StartsWith("/base/", StringComparison.Ordinal) || received.Path == "/base" || received.Path.StartsWith("/v1/", StringComparison.Ordinal) || received.Path == "/v1", received.Path);
            var decoded = Uri.UnescapeDataString(Uri.UnescapeDataString(received.Path)).Replace('\\', '/');
            Assert.DoesNotContain("/../", decoded + "/", StringComparison.Ordinal);
        }

        // The store agrees with the registry; the original accounts are untouched (apart from usage counters);
        // new accounts exist only for requests that were answered 201.
        await host.DrainHistoryAsync();
        var after = await store.GetAccountsAsync(default);
        var registry = host.Services.GetRequiredService<AccountRegistry>();
        Assert.Equal(after.Select(a => a.Id).Order(), registry.All.Select(a => a.Id).Order());
        foreach (var id in new[] { anthropicId, openaiId })
        {
            var original = before[id];
            var now = after.Single(a => a.Id == id);
            Assert.Equal(original.Name, now.Name);
            Assert.Equal(original.ApiKey, now.ApiKey);
            Assert.Equal(original.BaseUrl, now.BaseUrl);
            Assert.Equal(original.Provider, now.Provider);
        }
        Assert.Equal(before.Count + created, after.Count);
        Assert.All(after, a => Assert.True(a.BaseUrl is null || Ccflare.Management.AccountRules.ValidateBaseUrl(a.BaseUrl) is null, a.BaseUrl));
    }
}
