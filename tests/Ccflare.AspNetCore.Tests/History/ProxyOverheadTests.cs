using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.History;

/// <summary>
/// <c>proxy_overhead_ms</c>: total time minus the time spent waiting for the upstream (headers and
/// every body chunk), stored on the request row and exported as the <c>ccflare.proxy.overhead</c>
/// histogram with the same value.
/// </summary>
public sealed class ProxyOverheadTests : IAsyncLifetime
{
    private const int UpstreamDelayMs = 300;
    private readonly ConcurrentQueue<(double Value, string? Provider)> _overheads = new();
    private MeterListener _listener = null!;
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Ccflare" && instrument.Name == "ccflare.proxy.overhead")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? provider = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "provider")
                {
                    provider = tag.Value as string;
                }
            }
            _overheads.Enqueue((value, provider));
        });
        _listener.Start();

        _upstream = await FakeUpstream.StartAsync();
        _upstream.ScriptFor("sk-ant-slow-headers-0001", async (context, _) =>
        {
            await Task.Delay(UpstreamDelayMs);
            await FakeUpstream.WriteJsonAsync(context, 200, WireFormats.AnthropicMessage("claude-sonnet-4-5", "Slow hello"));
        });
        _upstream.ScriptFor("sk-ant-slow-stream-0001", (context, _) =>
            FakeUpstream.WriteSseAsync(context, WireFormats.AnthropicStream("claude-sonnet-4-5", "Slow stream"),
                index => index == 0 ? Task.CompletedTask : Task.Delay(UpstreamDelayMs / 3)));
        _host = await CcflareTestHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
        _listener.Dispose();
    }

    [Fact]
    public async Task Waiting_for_upstream_headers_is_not_overhead_and_the_row_value_is_exported()
    {
        await _host.AddAccountAsync("slow-headers", "anthropic", "sk-ant-slow-headers-0001", _upstream.BaseUrl);
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });

        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        var total = row.Double("responseTimeMs")!.Value;
        var overhead = row.Double("proxyOverheadMs")!.Value;
        // A timer may fire a millisecond or so early; the margins only have to separate waiting from work.
        Assert.InRange(total, UpstreamDelayMs - 20, 30_000);
        Assert.InRange(overhead, 0, total - (UpstreamDelayMs - 50));
        Assert.True(row.Double("upstreamTtfbMs") >= UpstreamDelayMs - 20);
        Assert.Contains(_overheads, m => m.Value == overhead && m.Provider == "anthropic");
    }

    [Fact]
    public async Task Waiting_for_stream_events_is_not_overhead()
    {
        await _host.AddAccountAsync("slow-stream", "anthropic", "sk-ant-slow-stream-0001", _upstream.BaseUrl);
        var client = SdkClients.Anthropic(_host.BaseUrl + "/v1/anthropic");
        await foreach (var _ in client.Messages.CreateStreaming(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] }))
        {
        }

        var row = Assert.Single(await HistoryApi.RequestsAsync(_host));
        var total = row.Double("responseTimeMs")!.Value;
        var overhead = row.Double("proxyOverheadMs")!.Value;
        var streaming = row.Double("streamingDurationMs")!.Value;
        // Several events each arrive after a pause: the stream takes far longer than the proxy's own work.
        Assert.True(streaming >= UpstreamDelayMs - 20, $"streaming {streaming} ms");
        Assert.InRange(overhead, 0, total - (UpstreamDelayMs - 50));
        Assert.Contains(_overheads, m => m.Value == overhead && m.Provider == "anthropic");
    }
}
