// Write-path benchmark: N realistic request rows (with small payloads) written through each store
// in batches, the way RequestWriter does. Usage:
//   dotnet run -c Release --project bench/Ccflare.Benchmarks.WritePath -- [rows=50000] [batch=500] [stores=sqlite,litedb,memory]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ccflare;
using Microsoft.Extensions.DependencyInjection;

var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
var stores = args.Length > 2 ? args[2].Split(',') : ["sqlite", "litedb", "memory"];

var records = Workload.Create(rows);
Console.WriteLine($"{rows:N0} rows in batches of {batchSize}, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}");

foreach (var name in stores)
{
    var directory = Path.Combine(Path.GetTempPath(), "ccflare-bench-" + Guid.NewGuid().ToString("N"));
    try
    {
        var services = new ServiceCollection();
        var builder = services.AddCcflare();
        _ = name switch
        {
            "sqlite" => builder.UseSqliteStorage(Path.Combine(directory, "ccflare.db")),
            "litedb" => builder.UseLiteDbStorage(Path.Combine(directory, "ccflare.litedb")),
            "memory" => builder.UseInMemoryStorage(),
            _ => throw new ArgumentException("unknown store " + name),
        };
        long bytes;
        double seconds;
        double cpuSeconds;
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ICcflareStore>();
            await store.InitializeAsync(CancellationToken.None);

            // Warm-up batch (JIT, page cache, prepared statements), not counted; then delete it.
            await store.WriteRequestsAsync(Workload.Create(batchSize, "warm-"), CancellationToken.None);
            await store.DeleteRequestsAsync(null, CancellationToken.None);

            var batch = new List<RequestRecord>(batchSize);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var stopwatch = Stopwatch.StartNew();
            for (var i = 0; i < records.Count; i += batchSize)
            {
                batch.Clear();
                for (var j = i; j < Math.Min(i + batchSize, records.Count); j++)
                {
                    batch.Add(records[j]);
                }
                await store.WriteRequestsAsync(batch, CancellationToken.None);
            }
            stopwatch.Stop();
            seconds = stopwatch.Elapsed.TotalSeconds;
            cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;

            Console.WriteLine($"{name,-7} wrote {rows:N0} rows in {seconds:N2} s");
            var count = 0;
            await foreach (var _ in store.QueryRequestsAsync(new RequestQuery(), CancellationToken.None))
            {
                count++;
            }
            if (count != rows)
            {
                throw new InvalidOperationException($"{name}: expected {rows} rows, found {count}");
            }
        }
        bytes = Directory.Exists(directory) ? Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length) : 0;
        Console.WriteLine($"{name,-7} {rows / seconds,10:N0} rows/s wall  {rows / cpuSeconds,10:N0} rows/CPU-s  ({seconds:N2} s wall, {cpuSeconds:N2} s CPU, file {bytes / 1024.0 / 1024.0:N1} MiB, load {LoadAverage()})");
    }
    finally
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

// The machine this runs on may be shared: wall-clock rows/s depends on the load, CPU-time rows/s much less.
static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

internal static class Workload
{
    private static readonly string[] Models = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "gpt-5", "gpt-5-codex"];

    public static List<RequestRecord> Create(int count, string prefix = "")
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var requestBody = Encoding.UTF8.GetBytes("""{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Summarise the attached design document in three bullet points, keeping the terminology."}]}""");
        var responseBody = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n", 6)));
        var records = new List<RequestRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var model = Models[i % Models.Length];
            var failed = i % 17 == 0;
            records.Add(new RequestRecord
            {
                Id = prefix + Guid.CreateVersion7(start.AddMilliseconds(i * 250L)).ToString(),
                Timestamp = start.AddMilliseconds(i * 250L),
                Method = "POST",
                Path = "/v1/anthropic/v1/messages",
                Provider = "anthropic",
                UpstreamPath = "/v1/messages",
                AccountUsed = "acc-" + (i % 4).ToString(CultureInfo.InvariantCulture),
                AccountName = "account-" + (i % 4).ToString(CultureInfo.InvariantCulture),
                StatusCode = failed ? 429 : 200,
                ErrorMessage = failed ? "rate_limit_error" : null,
                ResponseTimeMs = 800 + (i % 400),
                FailoverAttempts = failed ? 1 : 0,
                Model = model,
                PromptTokens = 1200,
                CompletionTokens = 300,
                TotalTokens = 1500,
                CostUsd = 0.0081m,
                OutputTokensPerSecond = 61.5,
                InputTokens = 900,
                CacheReadInputTokens = 250,
                CacheCreationInputTokens = 50,
                OutputTokens = 300,
                ResponseId = "msg_" + i.ToString(CultureInfo.InvariantCulture),
                ClientSessionId = "session-" + (i % 50).ToString(CultureInfo.InvariantCulture),
                TtftMs = 320.5,
                ProxyOverheadMs = 0.8,
                UpstreamTtfbMs = 300.2,
                StreamingDurationMs = 480.1,
                UserId = i % 3 == 0 ? "user-1" : null,
                Payload = new RequestPayload
                {
                    RequestHeaders = new Dictionary<string, string>
                    {
                        ["content-type"] = "application/json",
                        ["anthropic-version"] = "2023-06-01",
                        ["x-api-key"] = "sk-ant-...wxyz",
                    },
                    RequestBody = requestBody,
                    ResponseStatus = failed ? 429 : 200,
                    ResponseHeaders = new Dictionary<string, string>
                    {
                        ["content-type"] = "text/event-stream",
                        ["request-id"] = "req_" + i.ToString(CultureInfo.InvariantCulture),
                    },
                    ResponseBody = responseBody,
                    RateLimited = failed,
                    AccountsAttempted = failed ? ["acc-9", "acc-" + (i % 4).ToString(CultureInfo.InvariantCulture)] : ["acc-" + (i % 4).ToString(CultureInfo.InvariantCulture)],
                },
            });
        }
        return records;
    }
}
