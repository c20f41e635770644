using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Tests.Standalone;

/// <summary>
/// The standalone server as a child process, on the real clock: a preferred subscription account whose
/// five-hour window is at 97 % is left alone until that window resets, a spare one takes the traffic in
/// the meantime, and the preferred account is used again once its window has reset.
/// </summary>
public sealed class SubscriptionRoutingProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan ResetsIn = TimeSpan.FromSeconds(3);

    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-subscription-");
    private readonly ConcurrentQueue<(string Credential, int Status)> _answers = new();
    private FakeUpstream _upstream = null!;
    private DateTimeOffset? _prefResetsAt;
    private int _prefRequestsBeforeReset;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _dataDir.Delete(recursive: true);
    }

    private static string Epoch(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The preferred account's upstream: its first answer reports the five-hour window at 97 %, resetting
    /// in three seconds (whole epoch seconds, as Anthropic sends them). Another request inside that window
    /// would exceed it and gets the 429 a real subscription answers; after the reset the window is nearly empty.
    /// </summary>
    private Task AnswerPreferredAsync(HttpContext context, ReceivedRequest request)
    {
        var now = DateTimeOffset.UtcNow;
        var resetsAt = _prefResetsAt ??= DateTimeOffset.FromUnixTimeSeconds((now + ResetsIn).ToUnixTimeSeconds());
        var sevenDayReset = Epoch(now.AddDays(3));
        if (now < resetsAt && Interlocked.Increment(ref _prefRequestsBeforeReset) > 1)
        {
            _answers.Enqueue(("key-pref", 429));
            return FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit."}}""", new Dictionary<string, string>
            {
                ["anthropic-ratelimit-unified-status"] = "rejected",
                ["anthropic-ratelimit-unified-reset"] = Epoch(resetsAt),
                ["anthropic-ratelimit-unified-representative-claim"] = "five_hour",
                ["anthropic-ratelimit-unified-5h-status"] = "rejected",
                ["anthropic-ratelimit-unified-5h-utilization"] = "1.0",
                ["anthropic-ratelimit-unified-5h-reset"] = Epoch(resetsAt),
            });
        }
        var windowReset = now < resetsAt ? resetsAt : now.AddHours(5);
        var headers = context.Response.Headers;
        headers["anthropic-ratelimit-unified-status"] = now < resetsAt ? "allowed_warning" : "allowed";
        headers["anthropic-ratelimit-unified-reset"] = Epoch(windowReset);
        headers["anthropic-ratelimit-unified-representative-claim"] = "five_hour";
        headers["anthropic-ratelimit-unified-5h-status"] = now < resetsAt ? "allowed_warning" : "allowed";
        headers["anthropic-ratelimit-unified-5h-utilization"] = now < resetsAt ? "0.97" : "0.02";
        headers["anthropic-ratelimit-unified-5h-reset"] = Epoch(windowReset);
        headers["anthropic-ratelimit-unified-7d-status"] = "allowed";
        headers["anthropic-ratelimit-unified-7d-utilization"] = "0.41";
        headers["anthropic-ratelimit-unified-7d-reset"] = sevenDayReset;
        _answers.Enqueue(("key-pref", 200));
        return FakeUpstream.DefaultAsync(context, request);
    }

    private Task AnswerSpareAsync(HttpContext context, ReceivedRequest request)
    {
        _answers.Enqueue(("key-spare", 200));
        return FakeUpstream.DefaultAsync(context, request);
    }

    private async Task<string> AskAsync(Anthropic.AnthropicClient client, bool stream)
    {
        var before = _upstream.Received.Count;
        var parameters = new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 64, Messages = [new UserMessageParam("hi")] };
        if (stream)
        {
            var text = new StringBuilder();
            await foreach (var streamEvent in client.Messages.CreateStreaming(parameters))
            {
                if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
                {
                    text.Append(textDelta!.Text);
                }
            }
            Assert.Equal("Hello from fake", text.ToString());
        }
        else
        {
            var message = await client.Messages.Create(parameters);
            Assert.True(message.Content[0].TryPickText(out var block));
            Assert.Equal("Hello from fake", block!.Text);
        }
        var received = _upstream.Received.ToArray();
        Assert.Equal(before + 1, received.Length);
        return received[^1].Credential!;
    }

    [Fact]
    public async Task A_preferred_account_near_its_five_hour_limit_gives_way_to_the_spare_until_its_window_resets()
    {
        _upstream.ScriptFor("key-pref", AnswerPreferredAsync);
        _upstream.ScriptFor("key-spare", AnswerSpareAsync);

        // The spare account comes from the command line first (so creation order cannot explain the routing),
        // with a priority the CLI then changes.
        string[] dataDir = ["--data-dir", _dataDir.FullName];
        var add = await StandaloneProcess.RunToEndAsync([.. dataDir, "--add-account", "spare", "--provider", "anthropic", "--api-key", "key-spare", "--base-url", _upstream.BaseUrl, "--priority", "7"]);
        Assert.True(add.ExitCode == 0, add.StdErr);
        var set = await StandaloneProcess.RunToEndAsync([.. dataDir, "--set-priority", "spare", "1"]);
        Assert.True(set.ExitCode == 0, set.StdErr);

        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartAsync([.. dataDir, "--port", port.ToString(CultureInfo.InvariantCulture)], port);
        using (var created = await server.Client.PostAsJsonAsync("/api/accounts", new { name = "pref", provider = "anthropic", api_key = "key-pref", base_url = _upstream.BaseUrl, priority = 0 }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        Assert.Equal(1, (await AccountAsync(server, "spare")).GetProperty("priority").GetInt32());
        Assert.Equal(JsonValueKind.Null, (await AccountAsync(server, "pref")).GetProperty("usage").ValueKind);

        var client = SdkClients.Anthropic(server.Client.BaseAddress + "v1/anthropic");
        Assert.Equal("key-pref", await AskAsync(client, stream: false));
        var resetsAt = _prefResetsAt!.Value;

        var pref = await AccountAsync(server, "pref");
        Assert.Equal(0, pref.GetProperty("priority").GetInt32());
        var usage = pref.GetProperty("usage");
        Assert.Equal("five_hour", usage.GetProperty("representativeClaim").GetString());
        Assert.Equal("allowed_warning", usage.GetProperty("status").GetString());
        var fiveHour = Window(usage, "five_hour");
        Assert.Equal(0.97, fiveHour.GetProperty("utilization").GetDouble(), 6);
        Assert.Equal(300, fiveHour.GetProperty("windowMinutes").GetInt32());
        Assert.Equal(resetsAt, fiveHour.GetProperty("resetsAt").GetDateTimeOffset());
        var sevenDay = Window(usage, "seven_day");
        Assert.Equal(0.41, sevenDay.GetProperty("utilization").GetDouble(), 6);
        Assert.Equal(10080, sevenDay.GetProperty("windowMinutes").GetInt32());
        Assert.False(pref.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean());

        // The window would be exceeded by the next request: the spare serves while it lasts, streaming or not.
        string[] meanwhile = [await AskAsync(client, stream: false), await AskAsync(client, stream: true), await AskAsync(client, stream: false)];
        Assert.True(DateTimeOffset.UtcNow < resetsAt, "the machine was too slow to send three requests within the window's last seconds");
        Assert.Equal(["key-spare", "key-spare", "key-spare"], meanwhile);

        var wait = resetsAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        Assert.Equal("key-pref", await AskAsync(client, stream: true));
        Assert.Equal("key-pref", await AskAsync(client, stream: false));

        var after = Window((await AccountAsync(server, "pref")).GetProperty("usage"), "five_hour");
        Assert.Equal(0.02, after.GetProperty("utilization").GetDouble(), 6);
        Assert.True(after.GetProperty("resetsAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(4));

        // No 429 anywhere: not from the upstream, so not to the client either (every call above succeeded).
        Assert.DoesNotContain(_answers, a => a.Status != 200);
        Assert.Equal(["key-pref", "key-spare", "key-spare", "key-spare", "key-pref", "key-pref"], _answers.Select(a => a.Credential));
        var requests = await HistoryAsync(server, count: 6);
        Assert.All(requests, r =>
        {
            Assert.Equal(200, r.GetProperty("statusCode").GetInt32());
            Assert.Equal(0, r.GetProperty("failoverAttempts").GetInt32());
        });
        Assert.Equal(0, await server.StopAsync());
    }

    /// <summary>The request history once <paramref name="count"/> requests are written (the write queue drains in the background).</summary>
    private static async Task<JsonElement[]> HistoryAsync(StandaloneProcess server, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var requests = (await server.Client.GetFromJsonAsync<JsonElement>("/api/requests?limit=20")).EnumerateArray().ToArray();
            if (requests.Length >= count || DateTime.UtcNow > deadline)
            {
                Assert.Equal(count, requests.Length);
                return requests;
            }
            await Task.Delay(100);
        }
    }

    private static JsonElement Window(JsonElement usage, string name) =>
        usage.GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == name);

    private static async Task<JsonElement> AccountAsync(StandaloneProcess server, string name)
    {
        var accounts = await server.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
    }
}
