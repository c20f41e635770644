using System.Collections.Concurrent;
using System.Text;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Proxy;

public sealed class CollectingObserver : ICcflareRequestObserver
{
    public ConcurrentQueue<RequestRecord> Records { get; } = new();

    public void OnRequestCompleted(RequestRecord record) => Records.Enqueue(record);
}

public sealed class ThrowingObserver : ICcflareRequestObserver
{
    public void OnRequestCompleted(RequestRecord record) => throw new InvalidOperationException("observer bug");
}

public sealed class RequestObserverTests
{
    [Fact]
    public async Task Observers_receive_each_stored_record_and_a_failing_one_harms_nothing()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(build: b => b.AddRequestObserver<ThrowingObserver>().AddRequestObserver<CollectingObserver>());
        await host.AddAccountAsync("a", "anthropic", "k", upstream.BaseUrl);

        using (var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json")))
        {
            response.EnsureSuccessStatusCode();
        }
        await host.DrainHistoryAsync();

        var observer = host.Services.GetServices<ICcflareRequestObserver>().OfType<CollectingObserver>().Single();
        var record = Assert.Single(observer.Records);
        Assert.Equal("claude-x", record.Model);
        Assert.Equal("a", record.AccountName);
        Assert.Equal(200, record.StatusCode);
        Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(5, false, default));
    }
}
