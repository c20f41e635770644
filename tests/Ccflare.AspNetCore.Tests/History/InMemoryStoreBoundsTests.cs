using Ccflare.Storage;
using Microsoft.Extensions.Options;

namespace Ccflare.Tests.History;

public sealed class InMemoryStoreBoundsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static InMemoryStore Create(int maxRequests = 100_000, long maxPayloadBytes = 256L * 1024 * 1024) =>
        new([new ConfigureOptions<CcflareOptions>(o => { o.InMemoryMaxRequests = maxRequests; o.InMemoryMaxPayloadBytes = maxPayloadBytes; })]);

    private static RequestRecord Row(int n, int bodyBytes = 0) => new()
    {
        Id = $"req-{n:D4}",
        Timestamp = T0.AddSeconds(n),
        Method = "POST",
        Path = "/v1/anthropic/v1/messages",
        StatusCode = 200,
        Payload = bodyBytes == 0 ? null : new RequestPayload { RequestBody = new byte[bodyBytes], ResponseBody = [] },
    };

    [Fact]
    public async Task Past_the_row_cap_the_oldest_rows_go_first_whatever_order_they_were_written_in()
    {
        var store = Create(maxRequests: 3);

        await store.WriteRequestsAsync([Row(5), Row(1), Row(3)], default);
        await store.WriteRequestsAsync([Row(2), Row(4)], default);

        var recent = await store.GetRecentRequestsAsync(10, includePayloads: false, default);
        Assert.Equal(["req-0005", "req-0004", "req-0003"], recent.Select(r => r.Id));
        Assert.Null(await store.GetRequestAsync("req-0001", default));
        Assert.Null(await store.GetRequestAsync("req-0002", default));
        Assert.Equal(3, store.Usage.Rows);
    }

    [Fact]
    public async Task Past_the_payload_cap_the_oldest_payloads_go_and_their_rows_stay()
    {
        var store = Create(maxPayloadBytes: 250);

        await store.WriteRequestsAsync([Row(1, 100), Row(2, 100), Row(3, 100), Row(4, 100)], default);

        Assert.Null((await store.GetRequestAsync("req-0001", default))!.Payload);
        Assert.Null((await store.GetRequestAsync("req-0002", default))!.Payload);
        Assert.NotNull((await store.GetRequestAsync("req-0003", default))!.Payload);
        Assert.NotNull((await store.GetRequestAsync("req-0004", default))!.Payload);
        Assert.Equal((4, 200L), store.Usage);
    }

    [Fact]
    public async Task Rewriting_a_row_replaces_it_in_the_time_order_and_in_the_byte_count()
    {
        var store = Create(maxRequests: 10, maxPayloadBytes: 1000);
        await store.WriteRequestsAsync([Row(1, 300), Row(2, 300)], default);

        await store.WriteRequestsAsync([Row(1, 100) with { Timestamp = T0.AddSeconds(9), StatusCode = 500 }], default);

        var recent = await store.GetRecentRequestsAsync(10, includePayloads: true, default);
        Assert.Equal(["req-0001", "req-0002"], recent.Select(r => r.Id));
        Assert.Equal(500, recent[0].StatusCode);
        Assert.Equal((2, 400L), store.Usage);
    }

    [Fact]
    public async Task Range_queries_and_deletes_follow_the_time_index()
    {
        var store = Create();
        await store.WriteRequestsAsync([.. Enumerable.Range(1, 10).Select(n => Row(n, 10))], default);

        var middle = new List<string>();
        await foreach (var row in store.QueryRequestsAsync(new RequestQuery { From = T0.AddSeconds(3), To = T0.AddSeconds(6) }, default))
        {
            middle.Add(row.Id);
        }
        Assert.Equal(["req-0003", "req-0004", "req-0005"], middle);

        Assert.Equal(4, await store.DeletePayloadsAsync(T0.AddSeconds(5), default));
        Assert.Equal(2, await store.DeleteRequestsAsync(T0.AddSeconds(3), default));
        Assert.Equal((8, 60L), store.Usage);
        Assert.Equal(2, (await store.GetRecentRequestsAsync(2, includePayloads: false, default)).Count);
    }
}
