using Anthropic.Models.Messages;
using Ccflare.Pricing;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.History;

/// <summary>A host with <c>Ccflare:PricesFile</c> prices requests from it and follows its changes without a restart.</summary>
public sealed class PricesFileTests
{
    [Fact]
    public async Task Requests_are_priced_from_the_prices_file_and_from_its_new_content_after_it_changes()
    {
        var path = Path.Combine(Path.GetTempPath(), "ccflare-host-prices-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, """{ "models": { "claude-house-model": { "input": 10, "output": 100 } } }""");
        try
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            await using var upstream = await FakeUpstream.StartAsync();
            await using var host = await CcflareTestHost.StartAsync(o => o.PricesFile = path, time: time);
            await host.AddAccountAsync("anthropic-1", "anthropic", "sk-ant-account-secret-0001", upstream.BaseUrl);
            var client = SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic");
            var message = new MessageCreateParams { Model = "claude-house-model", MaxTokens = 50, Messages = [new UserMessageParam("Hi")] };

            await client.Messages.Create(message);
            var first = Assert.Single(await HistoryApi.RequestsAsync(host));
            Assert.Equal(0.00062m, first.Decimal("costUsd")); // 12 x $10 + 5 x $100 per million
            Assert.False(first.GetProperty("costEstimated").GetBoolean());

            await File.WriteAllTextAsync(path, """{ "models": { "claude-house-model": { "input": 20, "output": 200 } } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
            time.Advance(PriceTable.ReloadInterval);
            await client.Messages.Create(message);

            var rows = await HistoryApi.RequestsAsync(host);
            Assert.Equal(2, rows.Length);
            Assert.Contains(rows, r => r.Decimal("costUsd") == 0.00124m); // the new prices
            Assert.Contains(rows, r => r.Decimal("costUsd") == 0.00062m); // the row written before keeps its cost
        }
        finally
        {
            File.Delete(path);
        }
    }
}
