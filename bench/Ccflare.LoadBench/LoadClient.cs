using System.Diagnostics;
using System.Net;
using System.Text;

namespace Ccflare.LoadBench;

/// <summary>Latencies and counts of one load run.</summary>
internal sealed record RunResult(int Completed, int Errors, double ElapsedSeconds, double[] LatenciesMs)
{
    public double RequestsPerSecond => Completed / ElapsedSeconds;

    public double Percentile(double p) => Stats.Percentile(LatenciesMs, p);
}

internal static class Stats
{
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}

/// <summary>A .NET load generator: closed loop (saturation) and open loop (fixed rate, no coordinated omission).</summary>
internal sealed class LoadClient : IDisposable
{
    private readonly HttpClient _client;

    public LoadClient(int maxConnections)
    {
        _client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        { Timeout = TimeSpan.FromMinutes(2) };
    }

    private HttpRequestMessage Request(string url, byte[] body, int events = 0, int intervalMs = 0)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("x-api-key", "client-key");
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        if (events > 0)
        {
            request.Headers.TryAddWithoutValidation("x-bench-events", events.ToString());
            request.Headers.TryAddWithoutValidation("x-bench-interval-ms", intervalMs.ToString());
        }
        return request;
    }

    private async Task<bool> SendOnceAsync(string url, byte[] body)
    {
        try
        {
            using var request = Request(url, body);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await response.Content.CopyToAsync(Stream.Null);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    public async Task<RunResult> ClosedLoopAsync(string url, byte[] body, int connections, TimeSpan duration)
    {
        var latencies = new List<double>[connections];
        var errors = 0;
        var stopwatch = Stopwatch.StartNew();
        var workers = new Task[connections];
        for (var w = 0; w < connections; w++)
        {
            var mine = latencies[w] = new List<double>(4096);
            workers[w] = Task.Run(async () =>
            {
                while (stopwatch.Elapsed < duration)
                {
                    var start = Stopwatch.GetTimestamp();
                    var ok = await SendOnceAsync(url, body);
                    if (ok)
                    {
                        mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            });
        }
        await Task.WhenAll(workers);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new RunResult(all.Length, errors, elapsed, all);
    }

    public async Task<RunResult> OpenLoopAsync(string url, byte[] body, int ratePerSecond, TimeSpan duration)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var ok = new bool[total];
        var tasks = new Task[total];
        var start = Stopwatch.GetTimestamp();
        var ticksPerRequest = Stopwatch.Frequency / (double)ratePerSecond;
        for (var i = 0; i < total; i++)
        {
            var scheduled = start + (long)(i * ticksPerRequest);
            while (Stopwatch.GetTimestamp() < scheduled)
            {
                var wait = TimeSpan.FromTicks((long)((scheduled - Stopwatch.GetTimestamp()) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));
                if (wait > TimeSpan.FromMilliseconds(2))
                {
                    await Task.Delay(wait - TimeSpan.FromMilliseconds(1));
                }
                else
                {
                    Thread.SpinWait(20);
                }
            }
            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                ok[index] = await SendOnceAsync(url, body);
                // Measured from the scheduled send time, so a stalled server cannot hide its queueing.
                latencies[index] = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
            });
        }
        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var good = latencies.Where((_, i) => ok[i]).ToArray();
        Array.Sort(good);
        return new RunResult(good.Length, total - good.Length, elapsed, good);
    }

    /// <summary>Opens <paramref name="streams"/> SSE streams at once; returns TTFB and per-event delivery delay (ms).</summary>
    public async Task<StreamResult> StreamsAsync(string url, byte[] body, int streams, int events, int intervalMs)
    {
        var ttfb = new double[streams];
        var delays = new List<double>[streams];
        var errors = 0;
        var stopwatch = Stopwatch.StartNew();
        var tasks = new Task[streams];
        for (var s = 0; s < streams; s++)
        {
            var index = s;
            tasks[s] = Task.Run(async () =>
            {
                var mine = delays[index] = new List<double>(events);
                try
                {
                    // Starts spread out, one a millisecond, as independent clients arrive (a thousand streams
                    // are all open after a second, for most of their life): started at one instant, every
                    // stream's events fall due together and the bursts measure the machine, not the proxy.
                    await Task.Delay(TimeSpan.FromMilliseconds(index));
                    var begin = Stopwatch.GetTimestamp();
                    using var request = Request(url, body, events, intervalMs);
                    using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
                    var first = true;
                    var count = 0;
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        if (first && line.Length > 0)
                        {
                            ttfb[index] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
                            first = false;
                        }
                        var sent = line.IndexOf("\"sent\":", StringComparison.Ordinal);
                        if (sent > 0)
                        {
                            var end = line.IndexOf('}', sent);
                            var ticks = long.Parse(line.AsSpan(sent + 7, end - sent - 7));
                            mine.Add((DateTime.UtcNow.Ticks - ticks) / (double)TimeSpan.TicksPerMillisecond);
                            count++;
                        }
                    }
                    if (count != events || !response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            });
        }
        await Task.WhenAll(tasks);
        var allDelays = delays.Where(d => d is not null).SelectMany(d => d).ToArray();
        Array.Sort(allDelays);
        var sortedTtfb = ttfb.Where(t => t > 0).ToArray();
        Array.Sort(sortedTtfb);
        return new StreamResult(streams, errors, stopwatch.Elapsed.TotalSeconds, sortedTtfb, allDelays);
    }

    public void Dispose() => _client.Dispose();
}

internal sealed record StreamResult(int Streams, int Errors, double ElapsedSeconds, double[] TtfbMs, double[] EventDelayMs);
