// The write-path benchmarks' rows and how they are written, linked into
// bench/Ccflare.Benchmarks.WritePath and bench/Ccflare.Benchmarks.PostgreSql so both measure the same workload.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ccflare;

/// <summary>
/// Realistic history rows: every column set as the proxy fills it (time-ordered ids like the proxy's,
/// one failure in 17 with a failover), each with a small streamed payload.
/// </summary>
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
            var failed = i % 17 == 0;
            var account = "acc-" + (i % 4).ToString(CultureInfo.InvariantCulture);
            records.Add(new RequestRecord
            {
                Id = prefix + Guid.CreateVersion7(start.AddMilliseconds(i * 250L)).ToString(),
                Timestamp = start.AddMilliseconds(i * 250L),
                Method = "POST",
                Path = "/v1/anthropic/v1/messages",
                Provider = "anthropic",
                UpstreamPath = "/v1/messages",
                AccountUsed = account,
                AccountName = "account-" + (i % 4).ToString(CultureInfo.InvariantCulture),
                StatusCode = failed ? 429 : 200,
                ErrorMessage = failed ? "rate_limit_error" : null,
                ResponseTimeMs = 800 + (i % 400),
                FailoverAttempts = failed ? 1 : 0,
                Model = Models[i % Models.Length],
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
                    AccountsAttempted = failed ? ["acc-9", account] : [account],
                },
            });
        }
        return records;
    }

    /// <summary>
    /// Writes <paramref name="records"/> through <paramref name="store"/> in batches of
    /// <paramref name="batchSize"/>, as RequestWriter does, after one uncounted warm-up batch (JIT,
    /// caches, prepared statements) that is deleted again. Returns wall-clock and process CPU seconds.
    /// </summary>
    public static async Task<(double Seconds, double CpuSeconds)> WriteInBatchesAsync(ICcflareStore store, List<RequestRecord> records, int batchSize)
    {
        await store.WriteRequestsAsync(Create(batchSize, "warm-"), CancellationToken.None);
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
        return (stopwatch.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
    }
}
