using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ccflare.Tests.History;

/// <summary>
/// Bursts of 30 MB request bodies through the standalone server, on the native route and on the
/// compat route (OpenAI Chat Completions translated for an Anthropic account): the stored bodies are
/// cut at Ccflare:MaxStoredPayloadBytes and flagged, and once the burst has drained the working set
/// comes back to near its idle size. Measured on a busy 2-core machine (docs/storage.md, "Payload size
/// and memory"): 129 to 150 MiB after against 104 to 110 MiB idle on either route. Before, each pooled upstream connection
/// kept the last body it sent alive (260 to 440 MiB stayed resident) and the compat route also left
/// body-sized JSON parse buffers in the shared array pool (340 to 610 MiB).
/// </summary>
public sealed class LargePayloadMemoryTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>How far above idle the working set may stay after a burst (measured: 20 to 50 MiB).</summary>
    private const long SettledMarginBytes = 96L << 20;

    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-large-");
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _upstream.KeepBodies = false;
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _dataDir.Delete(recursive: true);
    }

    private static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..^2].Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS");
    }

    private sealed record Measured(long Idle, long Peak, long Settled);

    /// <summary>Warms the server with small requests, measures idle, sends two bursts of ten bodies of <paramref name="size"/> bytes, then waits up to 30 s for the working set to stay under idle plus <paramref name="margin"/>, then runs <paramref name="afterSettled"/>.</summary>
    private async Task<Measured> BurstAsync(StandaloneProcess server, Func<HttpClient, int, Task<HttpStatusCode>> send, long margin, Func<Task>? afterSettled = null)
    {
        using (var add = await server.Client.PostAsync("/api/accounts", new StringContent(
            $$"""{"name":"large","provider":"anthropic","api_key":"sk-ant-large-test","base_url":"{{_upstream.BaseUrl}}"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
        }
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await send(client, 100));
        }
        await Task.Delay(2000);
        var idle = ResidentBytes(server.ProcessId);

        long peak = 0;
        for (var round = 0; round < 2; round++)
        {
            var burst = Enumerable.Range(0, 10).Select(_ => send(client, 30_000_000)).ToArray();
            while (!Task.WhenAll(burst).IsCompleted)
            {
                peak = Math.Max(peak, ResidentBytes(server.ProcessId));
                await Task.Delay(50);
            }
            Assert.All(await Task.WhenAll(burst), status => Assert.Equal(HttpStatusCode.OK, status));
        }

        // Settled: the working set has stayed under the bound for four seconds (the hand-back collection runs once the write queue has been quiet for two).
        var settled = long.MaxValue;
        var samples = new List<long>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var under = 0;
        while (DateTime.UtcNow < deadline && under < 8)
        {
            settled = ResidentBytes(server.ProcessId);
            samples.Add(settled >> 20);
            under = settled <= idle + margin ? under + 1 : 0;
            await Task.Delay(500);
        }
        output.WriteLine($"RSS idle {idle >> 20} MiB, peak {peak >> 20} MiB, after {settled >> 20} MiB (samples {string.Join(" ", samples)})");
        if (afterSettled is not null)
        {
            // The history checks come after the measurement: reading twenty 1 MiB payloads back is not part of the burst.
            await afterSettled();
        }
        return new Measured(idle, peak, settled);
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, string path, string model, int size)
    {
        var filler = new string('x', size);
        using var content = new StringContent($$"""{"model":"{{model}}","max_tokens":16,"messages":[{"role":"user","content":"{{filler}}"}]}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        await response.Content.ReadAsStringAsync();
        return response.StatusCode;
    }

    private async Task<StandaloneProcess> StartAsync()
    {
        var port = StandaloneProcess.FreePort();
        return await StandaloneProcess.StartAsync(
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName], port);
    }

    [Fact]
    public async Task A_burst_of_30_MB_bodies_is_stored_cut_and_the_working_set_returns_near_idle()
    {
        await using var server = await StartAsync();
        var measured = await BurstAsync(server, (client, size) => PostAsync(client, "/v1/anthropic/v1/messages", "claude-sonnet-4-5", size), SettledMarginBytes, async () =>
        {
            // The history keeps the 20 large rows with their bodies cut to 1 MiB plus the marker, and says so.
            // Some rows may have no payload (the write queue's byte bound sheds payloads in a burst): they are not listed.
            using var detail = await server.Client.GetAsync("/api/requests/detail?limit=5");
            var json = await detail.Content.ReadAsStringAsync();
            Assert.Equal("5", detail.Headers.GetValues("X-Ccflare-Next-Offset").Single());
            using var page = await server.Client.GetAsync("/api/requests/detail?limit=20");
            using var doc = JsonDocument.Parse(await page.Content.ReadAsStringAsync());
            var first = doc.RootElement.EnumerateArray().First();
            var body = Convert.FromBase64String(first.GetProperty("request").GetProperty("body").GetString()!);
            Assert.InRange(body.Length, 1024 * 1024, 1024 * 1024 + 100);
            Assert.EndsWith("more bytes not stored]", Encoding.UTF8.GetString(body));
            Assert.True(first.GetProperty("request").GetProperty("truncated").GetBoolean());
            Assert.True(json.Length < 20 * 1024 * 1024, $"detail answered {json.Length} bytes");
        });
        Assert.True(measured.Settled <= measured.Idle + SettledMarginBytes,
            $"RSS idle {measured.Idle >> 20} MiB, peak {measured.Peak >> 20} MiB, still {measured.Settled >> 20} MiB after 30 s (limit idle + {SettledMarginBytes >> 20} MiB)");
    }

    [Fact]
    public async Task A_burst_of_30_MB_compat_requests_translated_for_another_provider_leaves_the_working_set_near_idle()
    {
        await using var server = await StartAsync();
        var measured = await BurstAsync(server, (client, size) => PostAsync(client, "/v1/ccflare/openai/chat/completions", "anthropic/claude-sonnet-4-5", size), SettledMarginBytes, async () =>
        {
            using var detail = await server.Client.GetAsync("/api/requests/detail?limit=20");
            using var doc = JsonDocument.Parse(await detail.Content.ReadAsStringAsync());
            var first = doc.RootElement.EnumerateArray().First();
            Assert.True(first.GetProperty("request").GetProperty("truncated").GetBoolean());
            Assert.Equal("/v1/ccflare/openai/chat/completions", first.GetProperty("meta").GetProperty("trace").GetProperty("path").GetString());
        });
        Assert.True(measured.Settled <= measured.Idle + SettledMarginBytes,
            $"RSS idle {measured.Idle >> 20} MiB, peak {measured.Peak >> 20} MiB, still {measured.Settled >> 20} MiB after 30 s (limit idle + {SettledMarginBytes >> 20} MiB)");
    }
}
