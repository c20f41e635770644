using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ccflare.Security;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Security;

public sealed class HostileInputTests : IAsyncLifetime
{
    private const string AccountKey = "sk-ant-hostile-input-key";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static string Raw(string method, string target, string body = "", string extraHeaders = "") =>
        $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nanthropic-version: 2023-06-01\r\n{extraHeaders}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private static string DecodeFully(string path)
    {
        var current = path;
        for (var i = 0; i < 4; i++)
        {
            var next = Uri.UnescapeDataString(current);
            if (next == current)
            {
                break;
            }
            current = next;
        }
        return current;
    }

    private void AssertUpstreamOnlySawBasePaths(string basePath)
    {
        foreach (var received in _upstream.Received)
        {
            Assert.StartsWith(basePath + "/", received.Path, StringComparison.Ordinal);
            var decoded = DecodeFully(received.Path).Replace('\\', '/');
            Assert.DoesNotContain("/../", decoded + "/", StringComparison.Ordinal);
            Assert.DoesNotContain("/./", decoded + "/", StringComparison.Ordinal);
            // An empty segment deeper in the path (".../http://x") stays on the same host; one right after the base would not be sent.
            Assert.False(decoded.StartsWith(basePath + "//", StringComparison.Ordinal), decoded);
        }
    }

    [Fact]
    public async Task Every_management_endpoint_with_a_body_rejects_hostile_json_and_stores_nothing()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var store = host.Services.GetRequiredService<ICcflareStore>();
        var accountsBefore = System.Text.Json.JsonSerializer.Serialize(await store.GetAccountsAsync(default));
        var settingsBefore = System.Text.Json.JsonSerializer.Serialize(await store.GetSettingsAsync(default));

        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.Contains("/api/", StringComparison.Ordinal) && !raw.Contains("**", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Where(m => m is "POST" or "PATCH" or "PUT")
                .Select(m => (Method: m, Path: e.RoutePattern.RawText!.Replace("{id}", "no-such-id", StringComparison.Ordinal))))
            .ToList();
        Assert.Contains(endpoints, e => e.Path.EndsWith("/api/accounts", StringComparison.Ordinal));
        Assert.Contains(endpoints, e => e.Path.EndsWith("/api/users", StringComparison.Ordinal));

        var huge = "{\"name\":\"" + new string('x', 2 * 1024 * 1024) + "\"}";
        var bodies = new (string Label, byte[] Bytes, bool Chunked)[]
        {
            ("truncated", "{\"name\":\"x"u8.ToArray(), false),
            ("array", "[1,2,3]"u8.ToArray(), false),
            ("null", "null"u8.ToArray(), false),
            ("string", "\"text\""u8.ToArray(), false),
            ("trailing garbage", "{\"name\":\"x\"} {"u8.ToArray(), false),
            ("wrong types", "{\"name\":42,\"provider\":[],\"weight\":\"heavy\",\"sessionDurationMs\":\"x\",\"strategy\":{}}"u8.ToArray(), false),
            ("deep nesting", Encoding.ASCII.GetBytes(new string('[', 5000) + new string(']', 5000)), false),
            ("invalid utf-8", [.. "{\"name\":\""u8, 0xff, 0xfe, 0xc3, .. "\"}"u8], false),
            ("huge with length", Encoding.ASCII.GetBytes(huge), false),
            ("huge chunked", Encoding.ASCII.GetBytes(huge), true),
        };

        foreach (var (method, path) in endpoints)
        {
            foreach (var (label, bytes, chunked) in bodies)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                request.Content = chunked ? new StreamContent(new UnknownLengthStream(bytes)) : new ByteArrayContent(bytes);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await host.Client.SendAsync(request);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(status is >= 400 and < 500, $"{method} {path} with {label}: {status} {body}");
                ErrorJson.AssertError(body);
                Assert.False(ErrorJson.LooksLikeStackTrace(body), body);
                if (label.StartsWith("huge", StringComparison.Ordinal) && !path.Contains("/pause", StringComparison.Ordinal) && !path.Contains("/resume", StringComparison.Ordinal))
                {
                    Assert.True(status is 413 or 404, $"{method} {path} {label}: {status}");
                }
                if (label == "invalid utf-8" && status == 400)
                {
                    Assert.Contains("UTF-8", body, StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal(accountsBefore, System.Text.Json.JsonSerializer.Serialize(await store.GetAccountsAsync(default)));
        Assert.Equal(settingsBefore, System.Text.Json.JsonSerializer.Serialize(await store.GetSettingsAsync(default)));
        Assert.Empty(await store.GetUsersAsync(default));
    }

    [Fact]
    public async Task Oversized_proxy_bodies_get_413_with_or_without_content_length()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.MaxRequestBodyBytes = 1024);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var big = "{\"model\":\"m\",\"pad\":\"" + new string('x', 4000) + "\"}";

        var withLength = await RawHttp.SendAsync(new Uri(host.BaseUrl), Raw("POST", "/v1/anthropic/v1/messages", big));
        Assert.Equal(413, withLength.Status);
        ErrorJson.AssertError(withLength.Body);

        var chunks = new StringBuilder();
        for (var i = 0; i < big.Length; i += 500)
        {
            var part = big.Substring(i, Math.Min(500, big.Length - i));
            chunks.Append($"{part.Length:x}\r\n{part}\r\n");
        }
        chunks.Append("0\r\n\r\n");
        var chunked = await RawHttp.SendAsync(new Uri(host.BaseUrl),
            $"POST /v1/anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunks}");
        Assert.Equal(413, chunked.Status);
        ErrorJson.AssertError(chunked.Body);

        using var viaClient = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(big))));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, viaClient.StatusCode);

        var small = await RawHttp.SendAsync(new Uri(host.BaseUrl), Raw("POST", "/v1/anthropic/v1/messages", "{\"model\":\"m\"}"));
        Assert.Equal(200, small.Status);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Path_tricks_never_leave_the_accounts_base_url()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl + "/base");
        var upstreamPort = new Uri(_upstream.BaseUrl).Port;
        var baseUri = new Uri(host.BaseUrl);
        const string body = """{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}""";

        var cases = new (string Target, int[] Allowed)[]
        {
            ("/v1/anthropic/../../secret", [404]),
            ("/v1/anthropic/v1/../../../secret", [404]),
            ("/v1/anthropic/v1/%2e%2e/%2e%2e/secret", [404, 400]),
            ("/v1/anthropic/%2e%2e/secret", [404, 400]),
            ("/v1/anthropic/.%2e/secret", [404, 400]),
            ("/v1/anthropic/%252e%252e/secret", [400]),
            ("/v1/anthropic/v1/%252e%252e/%252e%252e/secret", [400]),
            ("/v1/anthropic/%2e%2e%2fsecret", [400]),
            ("/v1/anthropic/..%2f..%2fsecret", [400]),
            ("/v1/anthropic//evil.example/v1/messages", [400]),
            ("/v1/anthropic///evil.example/x", [400]),
            ("/v1/anthropic/v1\\..\\..\\secret", [400]),
            ("/v1/anthropic/v1%5c..%5csecret", [400]),
            ("/v1/anthropic/%5c%5cevil.example/x", [400]),
            ("/v1/anthropic/v1/%00/messages", [400]),
            // Absolute-form whose authority differs from Host: Kestrel refuses it.
            ($"http://evil.example/v1/anthropic/v1/messages", [400]),
            ($"http://127.0.0.1:{upstreamPort}/secret", [400, 404]),
            ("http://evil.example/../v1/anthropic/v1/messages", [200, 400, 404]),
            ("/v1/anthropic/http://evil.example/x", [200, 404]),
            ("/v1/anthropic/@evil.example/x", [200, 404]),
            ("/v1/anthropic/v1/messages?next=http://evil.example/../../x", [200]),
        };

        foreach (var (target, allowed) in cases)
        {
            var response = await RawHttp.SendAsync(baseUri, Raw("POST", target, body));
            Assert.True(allowed.Contains(response.Status), $"{target}: {response.Status} {response.Body}");
            if (response.Status == 400 && response.Body.Length > 0)
            {
                ErrorJson.AssertError(response.Body);
            }
            if (response.Status == 404 && response.Body.Length > 0)
            {
                // Ccflare's own 404 (unknown provider) or the fake upstream's 404 for a path under /base.
                Assert.True(ErrorJson.IsError(response.Body) || response.Body.Contains("not_found_error", StringComparison.Ordinal), response.Body);
            }
        }

        // Absolute-form with a matching Host: only the path is used; the request goes to the account's base URL.
        var absolute = await RawHttp.SendAsync(baseUri, Raw("POST", "http://localhost/v1/anthropic/v1/messages", body).Replace("Host: 127.0.0.1", "Host: localhost", StringComparison.Ordinal));
        Assert.Equal(200, absolute.Status);
        // The same with a foreign name is what a DNS-rebound page sends: refused before any forwarding.
        var rebound = await RawHttp.SendAsync(baseUri, Raw("POST", "http://evil.example/v1/anthropic/v1/messages", body).Replace("Host: 127.0.0.1", "Host: evil.example", StringComparison.Ordinal));
        Assert.Equal(403, rebound.Status);
        Assert.Contains("Ccflare:AllowedHosts", ErrorJson.AssertError(rebound.Body), StringComparison.Ordinal);

        // Forms Kestrel refuses outright.
        foreach (var target in new[] { "evil.example:443", "*", "/v1/anthropic/v1/messages#frag", "/v1/anthropic/v1/mess ages" })
        {
            var response = await RawHttp.SendAsync(baseUri, Raw("POST", target, body));
            Assert.True(response.Status is 400 or 404 or 405, $"{target}: {response.Status}");
        }

        AssertUpstreamOnlySawBasePaths("/base");
        // The absolute-form request went to the account's base URL, nowhere else.
        Assert.Contains(_upstream.Received, r => r.Path == "/base/v1/messages");
        Assert.DoesNotContain(_upstream.Received, r => r.Path.Contains("secret", StringComparison.Ordinal));
        Assert.DoesNotContain(_upstream.Received, r => r.Header("host")?.Contains("evil", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Header_injection_is_refused_by_kestrel_and_nothing_is_forwarded()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var baseUri = new Uri(host.BaseUrl);
        const string body = """{"model":"m"}""";

        foreach (var header in new[] { "X-Evil: a\rInjected: b\r\n", "X-Evil: a\0b\r\n", "X-Evil : spaced\r\n", "X Evil: name\r\n" })
        {
            var response = await RawHttp.SendAsync(baseUri, Raw("POST", "/v1/anthropic/v1/messages", body, header));
            Assert.Equal(400, response.Status);
        }
        Assert.Empty(_upstream.Received);

        // A bare LF is a line end to Kestrel: the client simply sent two headers; no value ever carries CR or LF upstream.
        await RawHttp.SendAsync(baseUri, Raw("POST", "/v1/anthropic/v1/messages", body, "X-Evil: a\nInjected: b\r\n"));
        foreach (var received in _upstream.Received)
        {
            Assert.All(received.Headers.Values, v => Assert.False(v.Contains('\r') || v.Contains('\n'), v));
        }
    }

    [Fact]
    public void Kestrel_limits_are_the_documented_ones()
    {
        var options = new KestrelServerOptions();
        CcflareKestrelLimits.Apply(options);
        Assert.Equal(64 * 1024, options.Limits.MaxRequestHeadersTotalSize);
        Assert.Equal(16 * 1024, options.Limits.MaxRequestLineSize);
        Assert.Equal(100, options.Limits.MaxRequestHeaderCount);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(120), options.Limits.KeepAliveTimeout);
        Assert.Equal(240, options.Limits.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.False(options.AddServerHeader);
    }

    [Fact]
    public async Task Oversized_headers_and_request_lines_are_refused()
    {
        await using var host = await CcflareTestHost.StartAsync(host: b => b.WebHost.ConfigureKestrel(CcflareKestrelLimits.Apply));
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var baseUri = new Uri(host.BaseUrl);

        var tooBig = await RawHttp.SendAsync(baseUri, Raw("POST", "/v1/anthropic/v1/messages", "{}", $"X-Big: {new string('a', 70 * 1024)}\r\n"));
        Assert.Equal(431, tooBig.Status);
        var manyHeaders = string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n"));
        Assert.Equal(431, (await RawHttp.SendAsync(baseUri, Raw("POST", "/v1/anthropic/v1/messages", "{}", manyHeaders))).Status);
        var longLine = await RawHttp.SendAsync(baseUri, Raw("GET", "/v1/anthropic/v1/models?q=" + new string('a', 20 * 1024)));
        Assert.Equal(414, longLine.Status);
        Assert.Empty(_upstream.Received);

        // 40 KiB of headers is within the limit (long anthropic-beta lists, big OAuth tokens); /health so the
        // fake upstream's own default limit (32 KiB) is not what answers.
        var fine = await RawHttp.SendAsync(baseUri, Raw("GET", "/health", "", $"X-Big1: {new string('a', 20 * 1024)}\r\nX-Big2: {new string('a', 20 * 1024)}\r\n"));
        Assert.Equal(200, fine.Status);
    }

    [Fact]
    public async Task Unknown_provider_is_a_404_json_error()
    {
        await using var host = await CcflareTestHost.StartAsync();
        using var response = await host.Client.PostAsync("/v1/not-a-provider/v1/messages", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not-a-provider", ErrorJson.AssertError(await response.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        using var api = await host.Client.GetAsync("/api/not-an-endpoint");
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        ErrorJson.AssertError(await api.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Slow_loris_clients_are_cut_off_by_the_headers_timeout()
    {
        await using var host = await CcflareTestHost.StartAsync(host: b => b.WebHost.ConfigureKestrel(o =>
        {
            CcflareKestrelLimits.Apply(o);
            o.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(2);
        }));
        var baseUri = new Uri(host.BaseUrl);
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, baseUri.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a"u8.ToArray());
        var watch = Stopwatch.StartNew();

        // Meanwhile others are served.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health")).StatusCode);

        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new StringBuilder();
        try
        {
            while (true)
            {
                await stream.WriteAsync("b"u8.ToArray(), cts.Token);
                var readTask = stream.ReadAsync(buffer, cts.Token).AsTask();
                if (await Task.WhenAny(readTask, Task.Delay(500, cts.Token)) == readTask)
                {
                    var read = await readTask;
                    if (read == 0)
                    {
                        break;
                    }
                    received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
            }
        }
        catch (IOException)
        {
            // Reset by the server: also a cut-off.
        }
        Assert.False(cts.IsCancellationRequested, "the slow connection was not closed");
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.5), watch.Elapsed.ToString());
        Assert.DoesNotContain("200 OK", received.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Client_disconnect_cancels_the_upstream_request_and_is_recorded_as_499(bool midStream)
    {
        var upstreamAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.Override = async (context, _) =>
        {
            context.RequestAborted.Register(() => upstreamAborted.TrySetResult());
            if (midStream)
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
                await context.Response.Body.FlushAsync();
            }
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        };
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);

        var baseUri = new Uri(host.BaseUrl);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, baseUri.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Raw("POST", "/v1/anthropic/v1/messages", "{\"model\":\"m\",\"stream\":true}")));
            if (midStream)
            {
                var buffer = new byte[4096];
                var seen = new StringBuilder();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (!seen.ToString().Contains("message_start", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer, cts.Token);
                    Assert.NotEqual(0, read);
                    seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
            }
            else
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (_upstream.Received.IsEmpty && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20);
                }
                Assert.Single(_upstream.Received);
            }
            client.Client.LingerState = new LingerOption(true, 0);
        }

        var finished = await Task.WhenAny(upstreamAborted.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(finished == upstreamAborted.Task, "the upstream request was not aborted");

        await host.DrainHistoryAsync();
        var record = Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, false, default));
        Assert.Equal(499, record.StatusCode);
        Assert.False(record.Success);
        Assert.NotNull(record.ErrorMessage);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health")).StatusCode);
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
