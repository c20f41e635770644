using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>What the replica tests (in-process hosts and StandaloneServer processes) script upstream and poll a replica for.</summary>
internal static class ReplicaProbes
{
    /// <summary>Scripts the upstream to answer <paramref name="credential"/> with a 429 whose unified rate limit resets in five minutes.</summary>
    public static void RejectWithRateLimit(FakeUpstream upstream, string credential)
    {
        var reset = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        upstream.ScriptFor(credential, (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""",
            new Dictionary<string, string> { ["anthropic-ratelimit-unified-status"] = "rejected", ["anthropic-ratelimit-unified-reset"] = reset }));
    }

    /// <summary>The account named <paramref name="name"/> as the replica's <c>GET /api/accounts</c> lists it, or null.</summary>
    public static async Task<JsonElement?> AccountAsync(HttpClient client, string name)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/accounts"));
        var root = json.RootElement.ValueKind == JsonValueKind.Array ? json.RootElement : json.RootElement.GetProperty("accounts");
        foreach (var account in root.EnumerateArray())
        {
            if (account.GetProperty("name").GetString() == name)
            {
                return account.Clone();
            }
        }
        return null;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; logs and returns how long that took (fails after <paramref name="seconds"/>).</summary>
    public static async Task<TimeSpan> WaitForAsync(ITestOutputHelper output, Func<Task<bool>> condition, string what, int seconds)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(seconds), $"{what}: not seen within {seconds} s");
            await Task.Delay(20);
        }
        output.WriteLine($"{what}: {watch.Elapsed.TotalMilliseconds:N0} ms");
        return watch.Elapsed;
    }
}
