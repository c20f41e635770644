using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;

namespace Ccflare.LoadBench;

/// <summary>One line of the results table.</summary>
internal sealed record Row(
    string Scenario, string Target, double RequestsPerSecond, double P50, double P90, double P99,
    double AddedP50, double AddedP99, double CpuMicrosPerRequest, double PeakRssMb, int Errors, string Note = "");

/// <summary>
/// Starts the fake upstream, the bare YARP forwarder and Ccflare's StandaloneServer on loopback,
/// drives each with the same load in alternating rounds, and writes a Markdown table and a PNG chart.
/// Exit codes: 0 when every run completed without errors, 2 when the setup failed (build, a
/// server that does not start), 3 when requests failed. Timings are reported, never asserted.
/// </summary>
internal static class Orchestrator
{
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            return await RunCoreAsync(args);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return 2;
        }
    }

    private static async Task<int> RunCoreAsync(string[] args)
    {
        // The load client parks a thousand stream readers on the pool: start with enough threads that
        // the bursts of the first seconds do not wait for thread injection (the client, not a proxy, would be measured).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        var quick = args.Contains("--quick");
        var root = FindRepositoryRoot();
        var output = Args.Value(args, "--out") ?? Path.Combine(root, "docs", "benchmarks");
        var storage = Args.Value(args, "--ccflare-storage") ?? "sqlite";
        var seconds = double.Parse(Args.Value(args, "--seconds") ?? (quick ? "1" : "8"), CultureInfo.InvariantCulture);
        var rounds = quick ? 1 : 2;
        // Experiments: --only picks scenarios by part of their name; --ccflare-option Key=Value (repeatable)
        // passes configuration to Ccflare, e.g. Ccflare:CapturePayloads=false.
        var only = Args.Value(args, "--only");
        var ccflareOptions = Args.All(args, "--ccflare-option").Select(option => "--" + option).ToArray();
        bool Selected(string scenario) => only is null || scenario.Contains(only, StringComparison.OrdinalIgnoreCase);
        var duration = TimeSpan.FromSeconds(seconds);
        Directory.CreateDirectory(output);

        var self = typeof(Orchestrator).Assembly.Location;
        var server = Path.Combine(root, "samples", "StandaloneServer", "bin", "Release", "net10.0", "StandaloneServer.dll");
        if (!args.Contains("--no-build"))
        {
            Console.WriteLine("Building StandaloneServer (Release)...");
            using var build = Process.Start("dotnet", ["build", Path.Combine(root, "samples", "StandaloneServer"), "-c", "Release", "-v", "q", "-nologo"]);
            await build.WaitForExitAsync();
            if (build.ExitCode != 0)
            {
                Console.Error.WriteLine("error: building StandaloneServer failed.");
                return 2;
            }
        }

        var upstreamPort = ChildProcess.FreePort();
        await using var upstream = await ChildProcess.StartAsync("upstream", self, ["upstream", "--port", upstreamPort.ToString()], upstreamPort, "/");
        var rows = new List<Row>();
        var smallBody = Encoding.UTF8.GetBytes("""{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}""");
        var largeBody = LargeBody(1024 * 1024);
        var streamBody = Encoding.UTF8.GetBytes("""{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Count."}]}""");

        async Task<ChildProcess> StartYarp()
        {
            var port = ChildProcess.FreePort();
            return await ChildProcess.StartAsync("yarp", self, ["yarp", "--port", port.ToString(), "--upstream", upstream.BaseUrl], port, "/v1/anthropic/health");
        }

        async Task<ChildProcess> StartCcflare(int accounts, bool oneLimited)
        {
            var port = ChildProcess.FreePort();
            var dataDir = Directory.CreateTempSubdirectory("ccflare-bench-").FullName;
            // History is always on; payload capture and the history journal are on by default and named here so
            // the run says what it measures (the in-memory store has no journal: a crash loses its rows anyway).
            ChildProcess child;
            try
            {
                child = await ChildProcess.StartAsync("ccflare", server,
                    ["--port", port.ToString(), "--data-dir", dataDir, "--storage", storage, "--Ccflare:CapturePayloads=true",
                        "--Ccflare:HistoryJournalDirectory=" + Path.Combine(dataDir, "journal"), "--Logging:LogLevel:Default=Warning", .. ccflareOptions], port, "/health");
            }
            catch
            {
                ChildProcess.DeleteScratch(dataDir);
                throw;
            }
            child.ScratchDirectory = dataDir;
            try
            {
                using var http = new HttpClient { BaseAddress = new Uri(child.BaseUrl) };
                for (var i = 0; i < accounts; i++)
                {
                    var key = oneLimited && i == 0 ? "limited" : $"bench-key-{i}";
                    using var response = await http.PostAsJsonAsync("/api/accounts", new { name = $"bench-{i}", provider = "anthropic", api_key = key, base_url = upstream.BaseUrl });
                    response.EnsureSuccessStatusCode();
                }
                return child;
            }
            catch
            {
                await child.DisposeAsync();
                throw;
            }
        }

        // Both servers of a scenario, started side by side. The smoke run (--quick) starts one pair and
        // reuses it for every scenario (its peak RSS is then the peak so far); the full run starts a
        // fresh pair per scenario so each peak RSS belongs to its scenario.
        async Task<(ChildProcess Yarp, ChildProcess Ccflare)> StartPair()
        {
            var yarpStart = StartYarp();
            var ccflareStart = StartCcflare(accounts: 1, oneLimited: false);
            try
            {
                await Task.WhenAll(yarpStart, ccflareStart);
                return (yarpStart.Result, ccflareStart.Result);
            }
            catch
            {
                foreach (var start in new[] { yarpStart, ccflareStart })
                {
                    if (start.IsCompletedSuccessfully)
                    {
                        await start.Result.DisposeAsync();
                    }
                }
                throw;
            }
        }

        var shared = quick ? await StartPair() : default;

        string DirectUrl() => upstream.BaseUrl + "/v1/messages";
        static string ProxyUrl(ChildProcess p) => p.BaseUrl + "/v1/anthropic/v1/messages";

        // Request/response scenarios: direct (reference), YARP and Ccflare in alternating rounds.
        var scenarios = new (string Name, Func<LoadClient, string, Task<RunResult>> Load, int Connections, byte[] Body)[]
        {
            ("500 req/s", (c, url) => c.OpenLoopAsync(url, smallBody, quick ? 100 : 500, duration), 256, smallBody),
            ("2,000 req/s", (c, url) => c.OpenLoopAsync(url, smallBody, quick ? 200 : 2000, duration), 512, smallBody),
            ("saturation, 32 connections", (c, url) => c.ClosedLoopAsync(url, smallBody, 32, duration), 32, smallBody),
            ("1 MiB requests, 8 connections", (c, url) => c.ClosedLoopAsync(url, largeBody, 8, duration), 8, largeBody),
        };

        async Task RequestScenario(string name, Func<LoadClient, string, Task<RunResult>> load, int connections, byte[] body, ChildProcess yarp, ChildProcess ccflare)
        {
            using var client = new LoadClient(connections);

            // Warm every path (JIT, connection pools) before measuring. The smoke run's servers are
            // shared, so only their first scenario needs more than a touch.
            var warmUp = TimeSpan.FromSeconds(!quick ? 2 : rows.Count == 0 ? 1 : 0.3);
            foreach (var url in new[] { DirectUrl(), ProxyUrl(yarp), ProxyUrl(ccflare) })
            {
                await client.ClosedLoopAsync(url, body, 8, warmUp);
            }

            var direct = new List<RunResult>();
            var results = new Dictionary<string, (List<RunResult> Runs, TimeSpan Cpu)> { ["YARP"] = ([], TimeSpan.Zero), ["Ccflare"] = ([], TimeSpan.Zero) };
            var shedBefore = await ShedPayloadsAsync(ccflare);
            for (var round = 0; round < rounds; round++)
            {
                direct.Add(await load(client, DirectUrl()));
                foreach (var (label, process) in new[] { ("YARP", yarp), ("Ccflare", ccflare) })
                {
                    var before = process.CpuTime;
                    var run = await load(client, ProxyUrl(process));
                    var entry = results[label];
                    entry.Runs.Add(run);
                    results[label] = (entry.Runs, entry.Cpu + (process.CpuTime - before));
                }
            }

            var directMerged = Merge(direct);
            rows.Add(ToRow(name, "direct", directMerged, directMerged, TimeSpan.Zero, double.NaN));
            rows.Add(ToRow(name, "YARP", Merge(results["YARP"].Runs), directMerged, results["YARP"].Cpu, yarp.PeakRssMb));
            var shed = await ShedPayloadsAsync(ccflare) - shedBefore;
            rows.Add(ToRow(name, "Ccflare", Merge(results["Ccflare"].Runs), directMerged, results["Ccflare"].Cpu, ccflare.PeakRssMb)
                with { Note = shed > 0 ? $"{shed} payloads not stored (history write queue over its bound)" : "" });
        }

        // Failover path: four accounts, the first always rate limited.
        async Task FailoverScenario()
        {
            await using var ccflare = await StartCcflare(accounts: 4, oneLimited: true);
            using var client = new LoadClient(32);
            await client.ClosedLoopAsync(ProxyUrl(ccflare), smallBody, 8, TimeSpan.FromSeconds(quick ? 1 : 2));
            var direct = await client.ClosedLoopAsync(DirectUrl(), smallBody, 32, duration);
            var before = ccflare.CpuTime;
            var run = await client.ClosedLoopAsync(ProxyUrl(ccflare), smallBody, 32, duration);
            rows.Add(ToRow("4 accounts, 1 rate limited", "direct", direct, direct, TimeSpan.Zero, double.NaN));
            rows.Add(ToRow("4 accounts, 1 rate limited", "Ccflare", run, direct, ccflare.CpuTime - before, ccflare.PeakRssMb));
        }

        // Concurrent SSE streams.
        var streamRows = new List<(string Target, StreamResult Result, double PeakRss)>();
        var streams = int.Parse(Args.Value(args, "--streams") ?? (quick ? "20" : "1000"), CultureInfo.InvariantCulture);
        var events = int.Parse(Args.Value(args, "--events") ?? (quick ? "20" : "200"), CultureInfo.InvariantCulture);
        var intervalMs = int.Parse(Args.Value(args, "--interval-ms") ?? "50", CultureInfo.InvariantCulture);
        async Task StreamScenario(ChildProcess yarp, ChildProcess ccflare)
        {
            using var client = new LoadClient(streams + 16);
            // Steady state, as with long-lived clients: every connection (client to proxy, proxy to
            // upstream) is open before measuring, so the numbers are not those of 1,000 TCP handshakes.
            foreach (var url in new[] { DirectUrl(), ProxyUrl(yarp), ProxyUrl(ccflare) })
            {
                await client.StreamsAsync(url, streamBody, streams, 2, intervalMs);
            }
            streamRows.Add(("direct", await client.StreamsAsync(DirectUrl(), streamBody, streams, events, intervalMs), double.NaN));
            streamRows.Add(("YARP", await client.StreamsAsync(ProxyUrl(yarp), streamBody, streams, events, intervalMs), yarp.PeakRssMb));
            streamRows.Add(("Ccflare", await client.StreamsAsync(ProxyUrl(ccflare), streamBody, streams, events, intervalMs), ccflare.PeakRssMb));
        }

        async Task WithPair(Func<ChildProcess, ChildProcess, Task> scenario)
        {
            var pair = quick ? shared : await StartPair();
            try
            {
                await scenario(pair.Yarp, pair.Ccflare);
            }
            finally
            {
                if (!quick)
                {
                    await pair.Yarp.DisposeAsync();
                    await pair.Ccflare.DisposeAsync();
                }
            }
        }

        try
        {
            foreach (var (name, load, connections, body) in scenarios.Where(s => Selected(s.Name)))
            {
                Console.WriteLine($"Scenario: {name}");
                await WithPair((yarp, ccflare) => RequestScenario(name, load, connections, body, yarp, ccflare));
            }
            if (Selected("failover"))
            {
                Console.WriteLine("Scenario: failover");
                await FailoverScenario();
            }
            if (Selected("streams"))
            {
                Console.WriteLine($"Scenario: {streams} streams x {events} events");
                await WithPair(StreamScenario);
            }
        }
        finally
        {
            if (quick)
            {
                await shared.Yarp.DisposeAsync();
                await shared.Ccflare.DisposeAsync();
            }
        }

        if (only is not null || ccflareOptions.Length > 0)
        {
            // A partial or modified run: print it, but leave the published results alone.
            Console.WriteLine(Report.Markdown(rows, streamRows, quick, root, intervalMs, storage, complete: false));
            return rows.Sum(r => r.Errors) + streamRows.Sum(s => s.Result.Errors) > 0 ? 3 : 0;
        }
        var markdown = Report.Markdown(rows, streamRows, quick, root, intervalMs, storage);
        Console.WriteLine(markdown);
        await File.WriteAllTextAsync(Path.Combine(output, quick ? "results-quick.md" : "results.md"), markdown);
        if (!quick)
        {
            Chart.Write(Path.Combine(output, "results.png"), rows);
            if (Args.Value(args, "--out") is null)
            {
                await Report.IncludeInPerformancePageAsync(Path.Combine(root, "docs", "performance.md"), markdown);
            }
        }
        var errors = rows.Sum(r => r.Errors) + streamRows.Sum(s => s.Result.Errors);
        if (errors > 0)
        {
            Console.Error.WriteLine($"error: {errors} requests or streams failed.");
            return 3;
        }
        return 0;
    }

    /// <summary>Payloads Ccflare kept out of history because its write queue was over a bound (rows are still written).</summary>
    private static async Task<long> ShedPayloadsAsync(ChildProcess ccflare)
    {
        using var http = new HttpClient();
        using var stats = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(ccflare.BaseUrl + "/api/stats"));
        return stats.RootElement.TryGetProperty("writeQueue", out var queue) && queue.TryGetProperty("droppedPayloads", out var dropped) ? dropped.GetInt64() : 0;
    }

    private static RunResult Merge(List<RunResult> runs)
    {
        var latencies = runs.SelectMany(r => r.LatenciesMs).ToArray();
        Array.Sort(latencies);
        return new RunResult(runs.Sum(r => r.Completed), runs.Sum(r => r.Errors), runs.Sum(r => r.ElapsedSeconds), latencies);
    }

    private static Row ToRow(string scenario, string target, RunResult run, RunResult direct, TimeSpan cpu, double rss) => new(
        scenario, target, run.RequestsPerSecond, run.Percentile(50), run.Percentile(90), run.Percentile(99),
        run.Percentile(50) - direct.Percentile(50), run.Percentile(99) - direct.Percentile(99),
        run.Completed > 0 ? cpu.TotalMilliseconds * 1000 / run.Completed : double.NaN, rss, run.Errors);

    private static byte[] LargeBody(int size)
    {
        var prefix = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":" """;
        const string suffix = "\"}]}";
        var filler = new string('a', size - prefix.Length - suffix.Length);
        return Encoding.UTF8.GetBytes(prefix + filler + suffix);
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ccflare.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Run from inside the Ccflare repository.");
    }
}
