using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.History;

/// <summary>The Ccflare meter and activity source, observed with a plain MeterListener/ActivityListener.</summary>
public sealed class MetricsTests
{
    private sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    [Fact]
    public async Task Usage_duration_overhead_and_requests_are_measured_with_genai_tags()
    {
        var account = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ccflare")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }
            measurements.Enqueue(new Measurement(instrument.Name, value, map));
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        var activities = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Ccflare",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);

        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync(account, "anthropic", "sk-ant-metrics-key-0001", upstream.BaseUrl);
        var client = SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });
        await host.DrainHistoryAsync();
        listener.RecordObservableInstruments();

        var mine = measurements.Where(m => Equals(m.Tags.GetValueOrDefault("ccflare.account"), account)).ToList();
        var tokens = mine.Where(m => m.Instrument == "gen_ai.client.token.usage").ToList();
        Assert.Equal(2, tokens.Count);
        var input = Assert.Single(tokens, m => Equals(m.Tags["gen_ai.token.type"], "input"));
        var output = Assert.Single(tokens, m => Equals(m.Tags["gen_ai.token.type"], "output"));
        Assert.Equal(12, input.Value);
        Assert.Equal(5, output.Value);
        Assert.Equal("anthropic", input.Tags["gen_ai.system"]);
        Assert.Equal("claude-sonnet-4-5", input.Tags["gen_ai.request.model"]);

        var duration = Assert.Single(mine, m => m.Instrument == "gen_ai.client.operation.duration");
        Assert.InRange(duration.Value, 0.000001, 30);
        Assert.Equal("claude-sonnet-4-5", duration.Tags["gen_ai.request.model"]);

        var requests = Assert.Single(mine, m => m.Instrument == "ccflare.requests");
        Assert.Equal(200, requests.Tags["status_code"]);
        Assert.Contains(measurements, m => m.Instrument == "ccflare.proxy.overhead" && m.Value >= 0 && Equals(m.Tags["provider"], "anthropic"));
        Assert.Contains(measurements, m => m.Instrument == "ccflare.write_queue.depth");

        var activity = Assert.Single(activities, a => Equals(a.GetTagItem("ccflare.account"), account));
        Assert.Equal("ccflare.proxy", activity.OperationName);
        Assert.Equal(200, activity.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Ok, activity.Status);
    }

    [Fact]
    public async Task Failovers_rate_limits_and_queue_drops_are_counted()
    {
        var limitedName = "limited-" + Guid.NewGuid().ToString("N")[..8];
        var counts = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ccflare" && instrument.Name is "ccflare.failovers" or "ccflare.rate_limit.events" or "ccflare.write_queue.dropped")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            var kind = string.Empty;
            foreach (var tag in tags)
            {
                if (tag.Key == "kind")
                {
                    kind = ":" + tag.Value;
                }
            }
            counts.AddOrUpdate(i.Name + kind, v, (_, c) => c + v);
        });
        listener.Start();

        await using var upstream = await FakeUpstream.StartAsync();
        upstream.ScriptFor("sk-ant-limited-key-0001", (context, _) => FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"x"}}""",
            new Dictionary<string, string> { ["anthropic-ratelimit-unified-status"] = "rejected" }));
        await using var host = await CcflareTestHost.StartAsync(o => { o.WriteQueueCapacity = 1; o.WriteQueueFullMode = WriteQueueFullMode.Drop; });
        await host.AddAccountAsync(limitedName, "anthropic", "sk-ant-limited-key-0001", upstream.BaseUrl);
        await host.AddAccountAsync(limitedName + "-ok", "anthropic", "sk-ant-ok-key-0001", upstream.BaseUrl);
        var before = counts.GetValueOrDefault("ccflare.failovers");
        var client = SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic");
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });

        Assert.True(counts.GetValueOrDefault("ccflare.failovers") > before);
        Assert.True(counts.GetValueOrDefault("ccflare.rate_limit.events") >= 1);

        var recorder = host.Services.GetRequiredService<Ccflare.Recording.RequestRecorder>();
        var dropsBefore = recorder.Dropped + recorder.DroppedPayloads;
        var writer = host.Services.GetRequiredService<Ccflare.Recording.RequestWriter>();
        // Stop the writer so the one-slot queue fills up, then send a burst.
        await writer.StopAsync(CancellationToken.None);
        for (var i = 0; i < 4; i++)
        {
            await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 10, Messages = [new UserMessageParam("Hi")] });
        }
        Assert.True(recorder.Dropped + recorder.DroppedPayloads - dropsBefore >= 4);
        Assert.True(counts.GetValueOrDefault("ccflare.write_queue.dropped:row") >= 1);
        var stats = await host.Client.GetStringAsync("/api/stats");
        Assert.Contains("\"droppedRows\":", stats, StringComparison.Ordinal);
    }
}
