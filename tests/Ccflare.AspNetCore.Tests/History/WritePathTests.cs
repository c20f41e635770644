using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Ccflare.Diagnostics;
using Ccflare.Proxy;
using Ccflare.Recording;
using Ccflare.Storage;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.History;

/// <summary>The bounded write queue: shedding order, drop counting, and flushing on shutdown.</summary>
public sealed class WritePathTests
{
    private static (RequestRecorder Recorder, ServiceProvider Services) Recorder(int capacity, WriteQueueFullMode mode, TimeProvider time, int waitMs = 50, long? maxBodyBytes = null)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new CcflareMetrics(services.GetRequiredService<IMeterFactory>());
        var options = Options.Create(new CcflareOptions { WriteQueueCapacity = capacity, WriteQueueFullMode = mode, WriteQueueFullWaitMs = waitMs });
        if (maxBodyBytes is { } max)
        {
            options.Value.WriteQueueMaxBodyBytes = max;
        }
        return (new RequestRecorder(options, time, metrics, NullLogger<RequestRecorder>.Instance), services);
    }

    private static ProxyExchange Exchange(string id)
    {
        var body = RequestBodyBuffer.ReadAsync(new MemoryStream("""{"model":"gpt-5","previous_response_id":"resp_1"}"""u8.ToArray()), null, 1024, default).AsTask().GetAwaiter().GetResult()!;
        var exchange = new ProxyExchange { Id = id, Timestamp = DateTimeOffset.UnixEpoch, Method = "POST", Path = "/", StartTimestamp = 0, RequestBodyOwner = body, RequestHeaders = [new("a", "b")] };
        return exchange;
    }

    [Fact]
    public async Task Full_queue_drops_the_payload_first_then_the_row_and_counts_both()
    {
        var (recorder, services) = Recorder(capacity: 4, WriteQueueFullMode.Drop, TimeProvider.System);
        using var _ = services;
        for (var i = 0; i < 4; i++)
        {
            await recorder.CompletedAsync(Exchange("full-" + i));
        }

        var shed = Exchange("shed");
        await recorder.CompletedAsync(shed); // overflow allowance = capacity / 4 = 1
        await recorder.CompletedAsync(Exchange("dropped"));

        Assert.Equal(1, recorder.DroppedPayloads);
        Assert.Equal(1, recorder.Dropped);
        Assert.Equal(5, recorder.Pending);
        Assert.True(shed.PayloadDropped);
        Assert.Null(shed.RequestBodyOwner);
        Assert.Equal("gpt-5", shed.RequestFields!.Value.Model);
        Assert.Equal("resp_1", shed.RequestFields!.Value.PreviousResponseId);
        var record = RecordBuilder.Build(shed, capturePayloads: true);
        Assert.Null(record.Payload);
        Assert.Equal("gpt-5", record.Model);
        Assert.Equal("resp_1", record.PreviousResponseId);

        // Draining frees room: the next request keeps its payload.
        while (recorder.TryDequeue(out var item))
        {
            item.Release();
        }
        var later = Exchange("later");
        await recorder.CompletedAsync(later);
        Assert.False(later.PayloadDropped);
    }

    [Fact]
    public async Task Queued_request_bodies_are_bounded_by_bytes_and_past_the_bound_only_the_payload_is_dropped()
    {
        var bodyBytes = Exchange("probe").RequestBodyOwner!.Length;
        var (recorder, services) = Recorder(capacity: 100, WriteQueueFullMode.Drop, TimeProvider.System, maxBodyBytes: 2 * bodyBytes);
        using var _ = services;

        await recorder.CompletedAsync(Exchange("first"));
        await recorder.CompletedAsync(Exchange("second"));
        var third = Exchange("third");
        await recorder.CompletedAsync(third);

        Assert.Equal(3, recorder.Pending);
        Assert.Equal(0, recorder.Dropped);
        Assert.Equal(1, recorder.DroppedPayloads);
        Assert.True(third.PayloadDropped);
        Assert.Null(third.RequestBodyOwner);
        Assert.Equal("gpt-5", RecordBuilder.Build(third, capturePayloads: true).Model);
        Assert.Equal(2 * bodyBytes, recorder.QueuedBodyBytes);

        // Writing one frees its bytes: the next request keeps its payload.
        Assert.True(recorder.TryDequeue(out var written));
        written.Release();
        Assert.Equal(bodyBytes, recorder.QueuedBodyBytes);
        var fourth = Exchange("fourth");
        await recorder.CompletedAsync(fourth);
        Assert.False(fourth.PayloadDropped);
        Assert.NotNull(fourth.RequestBodyOwner);

        while (recorder.TryDequeue(out var item))
        {
            item.Release();
        }
        Assert.Equal(0, recorder.QueuedBodyBytes);
    }

    [Fact]
    public async Task Default_mode_waits_briefly_without_blocking_and_keeps_the_payload_when_room_appears()
    {
        var time = new FakeTimeProvider();
        var (recorder, services) = Recorder(capacity: 1, WriteQueueFullMode.WaitThenDrop, time);
        using var _ = services;
        await recorder.CompletedAsync(Exchange("first"));

        var waiting = Exchange("waiting");
        var pending = recorder.CompletedAsync(waiting).AsTask();
        Assert.False(pending.IsCompleted); // waiting for room, not blocking this thread
        Assert.True(recorder.TryDequeue(out var first));
        first.Release();
        await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(waiting.PayloadDropped);

        var timesOut = Exchange("times-out");
        var second = recorder.CompletedAsync(timesOut).AsTask();
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(timesOut.PayloadDropped);
        Assert.Equal(1, recorder.DroppedPayloads);
        Assert.Equal(0, recorder.Dropped);
    }

    [Fact]
    public async Task After_shutdown_late_requests_are_counted_as_dropped()
    {
        var (recorder, services) = Recorder(capacity: 10, WriteQueueFullMode.WaitThenDrop, TimeProvider.System);
        using var _ = services;
        recorder.Complete();

        await recorder.CompletedAsync(Exchange("late"));

        Assert.Equal(1, recorder.Dropped);
        Assert.Equal(0, recorder.Pending);
    }

    [Fact]
    public async Task Disposing_the_host_under_load_loses_no_acknowledged_request()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var store = new InMemoryStore();
        var host = await CcflareTestHost.StartAsync(o => o.WriteBatchSize = 7, build: b => b.Services.AddSingleton<ICcflareStore>(store));
        await host.AddAccountAsync("openai-1", "openai", "sk-openai-load-key-1", upstream.OpenAIBaseUrl);
        var recorder = host.Services.GetRequiredService<RequestRecorder>();

        var acknowledged = new ConcurrentBag<int>();
        var counter = 0;
        using var stop = new CancellationTokenSource();
        using var client = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref counter);
                try
                {
                    using var response = await client.PostAsJsonAsync($"/v1/openai/chat/completions?n={n}", new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } } });
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.IsSuccessStatusCode && body.Contains("Hello from fake", StringComparison.Ordinal))
                    {
                        acknowledged.Add(n);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // The server went away mid-request: not acknowledged.
                }
            }
        })).ToArray();

        while (acknowledged.Count < 100)
        {
            await Task.Delay(10);
        }
        await host.DisposeAsync(); // under load
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var restarted = await CcflareTestHost.StartAsync(build: b => b.Services.AddSingleton<ICcflareStore>(store));
        await using (restarted)
        {
            var stored = new HashSet<string>();
            await foreach (var record in store.QueryRequestsAsync(new RequestQuery(), default))
            {
                stored.Add(record.Path);
            }
            var missing = acknowledged.Count(n => !stored.Contains($"/v1/openai/chat/completions?n={n}"));
            Assert.True(acknowledged.Count >= 100);
            Assert.True(missing <= recorder.Dropped, $"{missing} acknowledged requests missing, {recorder.Dropped} counted as dropped");
            Assert.Equal(0, missing); // with room in the queue nothing needs dropping at all
        }
    }
}
