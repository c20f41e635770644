using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TenantStrategy = Ccflare.Tests.Docs.Snippets.TenantStrategy;

namespace Ccflare.Tests.Proxy;

/// <summary>The upstream client's resilience pipeline, header options and host customisation.</summary>
public sealed class UpstreamClientTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static HttpRequestMessage Message(string tenant = "alpha")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-tenant", tenant);
        return request;
    }

    private int Received(string credential) => _upstream.Received.Count(r => r.Credential == credential);

    [Fact]
    public async Task A_failing_account_trips_its_own_breaker_is_skipped_and_is_tried_again_after_the_break()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.LbStrategy = "tenant";
            o.CircuitBreaker.MinimumThroughput = 2;
            o.CircuitBreaker.FailureRatio = 0.5;
            o.CircuitBreaker.BreakDurationMs = 10_000;
        }, b => b.AddStrategy<TenantStrategy>(), time);
        await host.AddAccountAsync("alpha", "anthropic", "key-alpha", _upstream.BaseUrl);
        await host.AddAccountAsync("beta", "anthropic", "key-beta", _upstream.BaseUrl);
        _upstream.ScriptFor("key-alpha", (context, _) => FakeUpstream.WriteJsonAsync(context, 500, """{"type":"error","error":{"type":"api_error","message":"boom"}}"""));

        for (var i = 0; i < 2; i++)
        {
            using var response = await host.Client.SendAsync(Message());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(2, Received("key-alpha"));

        using (var skipped = await host.Client.SendAsync(Message()))
        {
            Assert.Equal(HttpStatusCode.OK, skipped.StatusCode);
        }
        Assert.Equal(2, Received("key-alpha")); // the open breaker kept the request away from alpha
        Assert.Equal(3, Received("key-beta"));

        // Beta's breaker is its own: beta never failed, so it keeps serving.
        using (var direct = await host.Client.SendAsync(Message("beta")))
        {
            Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(11));
        using (var probe = await host.Client.SendAsync(Message()))
        {
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }
        Assert.Equal(3, Received("key-alpha")); // half-open: alpha gets one trial request

        await host.DrainHistoryAsync();
        var requests = await host.Client.GetFromJsonAsync<JsonElement>("/api/requests");
        var records = requests.EnumerateArray().ToList();
        Assert.Equal(5, records.Count);
        Assert.All(records, r => Assert.Equal("beta", r.GetProperty("accountName").GetString()));
        // Every alpha-first request failed over once (the skipped one too); the direct beta request did not.
        Assert.Equal([0, 1, 1, 1, 1], records.Select(r => r.GetProperty("failoverAttempts").GetInt32()).Order());
    }

    [Fact]
    public async Task An_account_that_does_not_answer_within_the_upstream_timeout_fails_over()
    {
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.LbStrategy = "tenant";
            o.UpstreamTimeoutMs = 300;
        }, b => b.AddStrategy<TenantStrategy>());
        await host.AddAccountAsync("alpha", "anthropic", "key-alpha", _upstream.BaseUrl);
        await host.AddAccountAsync("beta", "anthropic", "key-beta", _upstream.BaseUrl);
        _upstream.ScriptFor("key-alpha", async (context, request) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
            await FakeUpstream.DefaultAsync(context, request);
        });

        var watch = Stopwatch.StartNew();
        using var response = await host.Client.SendAsync(Message());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        await host.DrainHistoryAsync();
        var record = (await host.Client.GetFromJsonAsync<JsonElement>("/api/requests")).EnumerateArray().Single();
        Assert.Equal("beta", record.GetProperty("accountName").GetString());
        Assert.Equal(1, record.GetProperty("failoverAttempts").GetInt32());
    }

    [Fact]
    public async Task Header_options_drop_and_mask_the_named_headers()
    {
        await using var host = await CcflareTestHost.StartAsync(o =>
        {
            o.Headers.DropRequestHeaders.Add("X-Internal-Trace");
            o.Headers.DropResponseHeaders.Add("x-upstream-debug");
            o.Headers.MaskHeaders.Add("x-customer-ref");
        });
        await host.AddAccountAsync("alpha", "anthropic", "key-alpha", _upstream.BaseUrl);
        _upstream.ScriptFor("key-alpha", (context, request) => FakeUpstream.WriteJsonAsync(context, 200,
            WireFormats.AnthropicMessage("claude-x", "hi"), new Dictionary<string, string> { ["x-upstream-debug"] = "node-7", ["x-kept"] = "yes" }));

        using var request = Message();
        request.Headers.Add("x-internal-trace", "trace-1");
        request.Headers.Add("x-customer-ref", "customer-1234567890-abcdef");
        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Null(received.Header("x-internal-trace"));
        Assert.Equal("customer-1234567890-abcdef", received.Header("x-customer-ref"));
        Assert.False(response.Headers.Contains("x-upstream-debug"));
        Assert.Equal("yes", response.Headers.GetValues("x-kept").Single());

        await host.DrainHistoryAsync();
        var detail = (await host.Client.GetFromJsonAsync<JsonElement>("/api/requests/detail")).EnumerateArray().Single();
        var stored = detail.GetProperty("request").GetProperty("headers").GetProperty("x-customer-ref").GetString();
        Assert.NotEqual("customer-1234567890-abcdef", stored);
        Assert.EndsWith("***", stored);
    }

    [Fact]
    public async Task The_host_can_customise_the_upstream_client()
    {
        await using var host = await CcflareTestHost.StartAsync(build: b => b.ConfigureUpstreamClient(client => client.AddHttpMessageHandler(() => new EgressStamp())));
        await host.AddAccountAsync("alpha", "anthropic", "key-alpha", _upstream.BaseUrl);

        using var response = await host.Client.SendAsync(Message());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("corp-egress", Assert.Single(_upstream.Received).Header("x-egress"));
    }

    [Theory]
    [InlineData("ratio", "Ccflare:CircuitBreaker:FailureRatio")]
    [InlineData("throughput", "Ccflare:CircuitBreaker:MinimumThroughput")]
    [InlineData("header", "Ccflare:Headers:DropRequestHeaders")]
    [InlineData("queue bytes", "Ccflare:WriteQueueMaxBodyBytes")]
    public async Task Invalid_options_stop_start_up_and_name_the_key(string what, string key)
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => CcflareTestHost.StartAsync(o =>
        {
            switch (what)
            {
                case "ratio": o.CircuitBreaker.FailureRatio = 1.5; break;
                case "throughput": o.CircuitBreaker.MinimumThroughput = 1; break;
                case "queue bytes": o.WriteQueueMaxBodyBytes = -1; break;
                default: o.Headers.DropRequestHeaders.Add("bad header:"); break;
            }
        }));

        Assert.Contains(key, ex.Message);
    }

    private sealed class EgressStamp : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Add("x-egress", "corp-egress");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
