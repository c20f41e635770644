using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Logging;
using Ccflare.Recording;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.History;

/// <summary>/api/requests/stream and /api/logs/*.</summary>
public sealed class LiveStreamTests : IAsyncLifetime
{
    private const string Key = "sk-ant-live-stream-secret-01";
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static async Task<(HttpResponseMessage Response, IAsyncEnumerator<string> Events)> OpenStreamAsync(CcflareTestHost host, string path, CancellationToken ct)
    {
        var response = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = HistoryApi.SseDataAsync(await response.Content.ReadAsStreamAsync(ct), ct).GetAsyncEnumerator(ct);
        Assert.True(await events.MoveNextAsync());
        Assert.Contains("connected", events.Current, StringComparison.Ordinal);
        return (response, events);
    }

    [Fact]
    public async Task Request_stream_sends_ingress_start_summary_and_payload_events()
    {
        await _host.AddAccountAsync("anthropic-1", "anthropic", Key, _upstream.BaseUrl);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var (response, events) = await OpenStreamAsync(_host, "/api/requests/stream", cts.Token);
        using (response)
        {
            var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
            await client.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Hi")] });

            Assert.True(await events.MoveNextAsync());
            var ingress = JsonDocument.Parse(events.Current).RootElement;
            Assert.Equal("ingress", ingress.Str("type"));
            Assert.Equal("/v1/anthropic/v1/messages", ingress.Str("path"));
            Assert.Equal("POST", ingress.Str("method"));

            Assert.True(await events.MoveNextAsync());
            var start = JsonDocument.Parse(events.Current).RootElement;
            Assert.Equal("start", start.Str("type"));
            Assert.Equal(ingress.Str("id"), start.Str("id"));
            Assert.Equal(200, start.Long("statusCode"));

            Assert.True(await events.MoveNextAsync());
            var summary = JsonDocument.Parse(events.Current).RootElement;
            Assert.Equal("summary", summary.Str("type"));
            var payload = summary.GetProperty("payload");
            Assert.Equal(start.Str("id"), payload.Str("id"));
            Assert.Equal("anthropic-1", payload.Str("accountName"));
            Assert.Equal(17, payload.Long("totalTokens"));
            Assert.DoesNotContain(Key, events.Current, StringComparison.Ordinal);

            Assert.True(await events.MoveNextAsync());
            var detail = JsonDocument.Parse(events.Current).RootElement;
            Assert.Equal("payload", detail.Str("type"));
            Assert.Equal(start.Str("id"), detail.GetProperty("payload").Str("id"));
            Assert.DoesNotContain(Key, events.Current, StringComparison.Ordinal);
        }
        await events.DisposeAsync();

        // The subscription goes away with the client.
        var live = _host.Services.GetRequiredService<RequestEvents>().Live;
        for (var i = 0; i < 200 && live.SubscriberCount > 0; i++)
        {
            await Task.Delay(25);
        }
        Assert.Equal(0, live.SubscriberCount);
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_does_not_hold_up_the_proxy()
    {
        await _host.AddAccountAsync("anthropic-1", "anthropic", Key, _upstream.BaseUrl);
        var events = _host.Services.GetRequiredService<RequestEvents>();
        using var stalled = events.Live.Subscribe(); // never read

        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        for (var i = 0; i < 300; i++)
        {
            events.Live.Publish(new RequestLiveEvent("ingress", "x" + i, DateTimeOffset.UnixEpoch, "POST", "/", null, null, null, null));
        }
        var sent = await client.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Hi")] });

        Assert.NotNull(sent);
        Assert.Equal(256, stalled.Reader.Count); // bounded: the oldest were dropped
    }

    [Fact]
    public async Task Log_history_shows_warnings_with_component_level_and_metadata_and_no_secrets()
    {
        _upstream.ScriptFor(Key, (context, _) => FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""", new Dictionary<string, string> { ["retry-after"] = "30" }));
        await _host.AddAccountAsync("limited", "anthropic", Key, _upstream.BaseUrl);
        await _host.AddAccountAsync("second", "anthropic", "sk-ant-second-account-key-9", _upstream.BaseUrl);
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new Anthropic.Models.Messages.UserMessageParam("Hi")] });
        using (await _host.Client.PostAsync("/v1/openai/chat/completions", JsonContent.Create(new { model = "gpt-5" })))
        {
        }

        var text = await _host.Client.GetStringAsync("/api/logs/history");
        var logs = JsonDocument.Parse(text).RootElement.EnumerateArray().ToList();

        var failover = Assert.Single(logs, l => l.Str("msg")!.Contains("failing over", StringComparison.Ordinal));
        Assert.Equal("WARN", failover.Str("level"));
        Assert.Equal("ProxyHandler", failover.Str("component"));
        Assert.Equal("limited", failover.GetProperty("metadata").Str("Account"));
        Assert.Equal("429", failover.GetProperty("metadata").Str("StatusCode"));
        Assert.NotNull(failover.Str("timestamp"));
        Assert.Single(logs, l => l.Str("msg")!.Contains("No usable openai account", StringComparison.Ordinal));
        Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant-second-account-key-9", text, StringComparison.Ordinal);

        var limited = await _host.Client.GetFromJsonAsync<JsonElement[]>("/api/logs/history?limit=1");
        Assert.Single(limited!);
        using var bad = await _host.Client.GetAsync("/api/logs/history?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Log_stream_delivers_new_entries_live()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var (response, events) = await OpenStreamAsync(_host, "/api/logs/stream", cts.Token);
        using (response)
        {
            using (await _host.Client.PostAsync("/v1/anthropic/v1/messages", JsonContent.Create(new { model = "x" }), cts.Token))
            {
            }

            string? message = null;
            while (await events.MoveNextAsync())
            {
                var entry = JsonDocument.Parse(events.Current).RootElement;
                message = entry.Str("msg");
                if (message?.Contains("No usable anthropic account", StringComparison.Ordinal) == true)
                {
                    Assert.Equal("WARN", entry.Str("level"));
                    break;
                }
            }
            Assert.Contains("No usable anthropic account", message, StringComparison.Ordinal);
        }
        await events.DisposeAsync();
    }

    [Fact]
    public void Log_buffer_is_bounded_and_keeps_the_newest()
    {
        var buffer = new LogBuffer(TimeProvider.System, capacity: 3);
        for (var i = 0; i < 5; i++)
        {
            buffer.Add(new LogEntry(DateTimeOffset.UnixEpoch, "INFO", "c", "m" + i, null));
        }

        Assert.Equal(["m2", "m3", "m4"], buffer.Snapshot().Select(e => e.Message));
        Assert.Equal(["m4"], buffer.Snapshot(1).Select(e => e.Message));
    }

    [Fact]
    public void Log_metadata_with_credential_names_is_masked()
    {
        var buffer = new LogBuffer(TimeProvider.System);
        using var provider = new LogBufferProvider(buffer);
        var logger = provider.CreateLogger("Ccflare.Test");

        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "Token {access_token} for {Name}", "secret-value-123", "bob");

        var entry = Assert.Single(buffer.Snapshot());
        Assert.Equal("***", entry.Metadata!["access_token"]);
        Assert.Equal("bob", entry.Metadata["Name"]);
        Assert.Equal("INFO", entry.Level);
        Assert.Equal("Test", entry.Component);
    }
}
