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
}
