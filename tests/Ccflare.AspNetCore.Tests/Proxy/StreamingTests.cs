using System.Net;
using System.Text;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Proxy;

public sealed class StreamingTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await _host.AddAccountAsync("a", "anthropic", "key-a", _upstream.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Events_reach_the_client_while_the_upstream_is_still_writing()
    {
        var clientGotFirstEvent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstreamWaited = false;
        _upstream.Override = (context, _) => FakeUpstream.WriteSseAsync(context, WireFormats.AnthropicStream("claude-x", "one two three"), async index =>
        {
            if (index == 1)
            {
                // The upstream refuses to continue until the client has seen event 1.
                await clientGotFirstEvent.Task.WaitAsync(TimeSpan.FromSeconds(10));
                upstreamWaited = true;
            }
        });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-x","stream":true,"max_tokens":10,"messages":[]}""", Encoding.UTF8, "application/json"),
        };
        using var response = await _host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var firstLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("event: message_start", firstLine);
        Assert.False(upstreamWaited);
        clientGotFirstEvent.SetResult();

        var rest = await reader.ReadToEndAsync();
        Assert.True(upstreamWaited);
        Assert.Contains("event: message_stop", rest);
    }

    [Fact]
    public async Task Stream_headers_reach_the_client_before_the_first_event()
    {
        var clientGotHeaders = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.ScriptFor("key-a", async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.FlushAsync();
            // The first event waits for the client to have the status: a model thinking before its first token.
            await clientGotHeaders.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
        });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-x","stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await _host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        clientGotHeaders.SetResult();
        Assert.Contains("event: message_start", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Mid_stream_upstream_failure_is_not_retried_and_the_client_sees_an_error()
    {
        await _host.AddAccountAsync("b", "anthropic", "key-b", _upstream.BaseUrl);
        _upstream.ScriptFor("key-a", async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(50);
            context.Abort();
        });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-x","stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await _host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("event: message_start", await reader.ReadLineAsync());
        await Assert.ThrowsAnyAsync<IOException>(() => reader.ReadToEndAsync());

        await _host.DrainHistoryAsync();
        Assert.DoesNotContain(_upstream.Received, r => r.Credential == "key-b");
        var records = await _host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, false, default);
        var record = Assert.Single(records);
        Assert.Equal(0, record.FailoverAttempts);
        Assert.Contains("stream failed", record.ErrorMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Upstream_failing_after_its_headers_but_before_any_body_gives_a_json_502()
    {
        _upstream.ScriptFor("key-a", async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 1000;
            await context.Response.Body.FlushAsync();
            await Task.Delay(50);
            context.Abort();
        });

        using var response = await _host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-x"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("before its body", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        await _host.DrainHistoryAsync();
        var record = Assert.Single(await _host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, false, default));
        Assert.Equal(502, record.StatusCode);
        Assert.Contains("stream failed", record.ErrorMessage, StringComparison.OrdinalIgnoreCase);
    }
}
