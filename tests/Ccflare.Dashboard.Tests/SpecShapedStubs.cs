using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// TEST-ONLY stand-ins for management endpoints that other work items are implementing in parallel
/// (/api/stats, /api/analytics, /api/requests/detail, /api/requests/stream, /api/logs/*,
/// /api/config/retention, /api/auth/*). They answer with the shapes of the spec
/// (shared/spec/ccflare.md sections 5-7), computed from the real store, so the dashboard can be
/// driven end to end today. Mapped BEFORE MapCcflare; delete each stub when the real endpoint merges
/// (a duplicate route then fails loudly with an AmbiguousMatchException).
/// </summary>
internal static class SpecShapedStubs
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Which stubs to map; the ones whose real endpoint already exists can be switched off.</summary>
    public static void Map(IEndpointRouteBuilder app, string prefix, StubState state)
    {
        var api = app.MapGroup(prefix + "/api");

        api.MapGet("/stats", async (ICcflareStore store, CancellationToken ct) =>
        {
            var all = await ReadAllAsync(store, null, ct);
            var accounts = await store.GetAccountsAsync(ct);
            return Results.Json(Totals(all, accounts.Count(a => !a.Paused)), Json);
        });

        api.MapGet("/analytics", async (HttpContext context, ICcflareStore store, CancellationToken ct) =>
        {
            var q = context.Request.Query;
            var range = q["range"].FirstOrDefault() ?? "24h";
            var (span, bucket, bucketName) = range switch
            {
                "1h" => (TimeSpan.FromHours(1), TimeSpan.FromMinutes(1), "1m"),
                "6h" => (TimeSpan.FromHours(6), TimeSpan.FromMinutes(5), "5m"),
                "7d" => (TimeSpan.FromDays(7), TimeSpan.FromHours(6), "6h"),
                "30d" => (TimeSpan.FromDays(30), TimeSpan.FromDays(1), "1d"),
                _ => (TimeSpan.FromHours(24), TimeSpan.FromHours(1), "1h"),
            };
            var accounts = await store.GetAccountsAsync(ct);
            var accountNames = Split(q["accounts"]);
            var accountIds = accounts.Where(a => accountNames.Contains(a.Name) || accountNames.Contains(a.Id)).Select(a => a.Id).ToList();
            var query = new RequestQuery
            {
                From = DateTimeOffset.UtcNow - span,
                AccountIds = accountNames.Count > 0 ? accountIds.DefaultIfEmpty("none").ToList() : [],
                Models = Split(q["models"]),
                UserIds = Split(q["users"]),
                Status = q["status"].FirstOrDefault() switch { "success" => RequestStatusFilter.Success, "error" => RequestStatusFilter.Error, _ => RequestStatusFilter.All },
            };
            var rows = await ReadAllAsync(store, query, ct);
            var cumulative = q["mode"].FirstOrDefault() == "cumulative";
            var series = new List<object>();
            long runningRequests = 0, runningTokens = 0;
            decimal runningCost = 0;
            foreach (var g in rows.GroupBy(r => r.Timestamp.ToUnixTimeMilliseconds() / (long)bucket.TotalMilliseconds).OrderBy(g => g.Key))
            {
                var list = g.ToList();
                runningRequests = (cumulative ? runningRequests : 0) + list.Count;
                runningTokens = (cumulative ? runningTokens : 0) + list.Sum(r => r.TotalTokens ?? 0);
                runningCost = (cumulative ? runningCost : 0) + list.Sum(r => r.CostUsd ?? 0);
                var input = list.Sum(r => (r.InputTokens ?? 0) + (r.CacheReadInputTokens ?? 0));
                series.Add(new
                {
                    ts = DateTimeOffset.FromUnixTimeMilliseconds(g.Key * (long)bucket.TotalMilliseconds),
                    requests = runningRequests,
                    tokens = runningTokens,
                    costUsd = runningCost,
                    successRate = Pct(list.Count(r => r.Success), list.Count),
                    errorRate = Pct(list.Count(r => !r.Success), list.Count),
                    cacheHitRate = input == 0 ? 0 : Math.Round(100.0 * list.Sum(r => r.CacheReadInputTokens ?? 0) / input, 1),
                    avgResponseTime = Math.Round(list.Average(r => r.ResponseTimeMs ?? 0), 1),
                    avgTokensPerSecond = Math.Round(list.Where(r => r.OutputTokensPerSecond is not null).Select(r => r.OutputTokensPerSecond!.Value).DefaultIfEmpty(0).Average(), 1),
                });
            }
            var byModel = rows.Where(r => r.Model is not null).GroupBy(r => r.Model!).OrderByDescending(g => g.Count()).ToList();
            return Results.Json(new
            {
                meta = new { range, bucket = bucketName, cumulative },
                totals = Totals(rows, accounts.Count(a => !a.Paused)),
                timeSeries = series,
                tokenBreakdown = new
                {
                    inputTokens = rows.Sum(r => r.InputTokens ?? 0),
                    cacheReadInputTokens = rows.Sum(r => r.CacheReadInputTokens ?? 0),
                    cacheCreationInputTokens = rows.Sum(r => r.CacheCreationInputTokens ?? 0),
                    outputTokens = rows.Sum(r => r.OutputTokens ?? 0),
                },
                modelDistribution = byModel.Select(g => new { model = g.Key, count = g.Count() }),
                accountPerformance = rows.GroupBy(r => r.AccountName ?? accounts.FirstOrDefault(a => a.Id == r.AccountUsed)?.Name ?? "unknown")
                    .Select(g => new { name = g.Key, requests = g.Count(), successRate = Pct(g.Count(r => r.Success), g.Count()) }),
                costByModel = byModel.Select(g => new { model = g.Key, costUsd = g.Sum(r => r.CostUsd ?? 0), requests = g.Count(), totalTokens = g.Sum(r => r.TotalTokens ?? 0) }),
                modelPerformance = byModel.Select(g =>
                {
                    var times = g.Select(r => r.ResponseTimeMs ?? 0).Order().ToList();
                    var speeds = g.Where(r => r.OutputTokensPerSecond is not null).Select(r => r.OutputTokensPerSecond!.Value).ToList();
                    return new
                    {
                        model = g.Key,
                        avgResponseTime = Math.Round(times.Average(), 1),
                        p95ResponseTime = times[Math.Max(0, (int)Math.Ceiling(times.Count * 0.95) - 1)],
                        errorRate = Pct(g.Count(r => !r.Success), g.Count()),
                        avgTokensPerSecond = speeds.Count == 0 ? (double?)null : Math.Round(speeds.Average(), 1),
                        minTokensPerSecond = speeds.Count == 0 ? (double?)null : speeds.Min(),
                        maxTokensPerSecond = speeds.Count == 0 ? (double?)null : speeds.Max(),
                    };
                }),
            }, Json);
        });

        api.MapGet("/requests/detail", async (HttpContext context, ICcflareStore store, CancellationToken ct) =>
        {
            var limit = int.TryParse(context.Request.Query["limit"], CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 1000) : 100;
            var records = await store.GetRecentRequestsAsync(limit, includePayloads: true, ct);
            return Results.Json(records.Where(r => r.Payload is not null).Select(r => new
            {
                id = r.Id,
                request = new { headers = r.Payload!.RequestHeaders, body = r.Payload.RequestBody is { } b ? Convert.ToBase64String(b) : null },
                response = new { status = r.Payload.ResponseStatus ?? r.StatusCode, headers = r.Payload.ResponseHeaders, body = r.Payload.ResponseBody is { } rb ? Convert.ToBase64String(rb) : null },
                meta = new { accountId = r.AccountUsed, accountName = r.AccountName, retry = r.FailoverAttempts, timestamp = r.Timestamp, success = r.Success, rateLimited = r.Payload.RateLimited, accountsAttempted = r.Payload.AccountsAttempted },
            }), Json);
        });

        // ccflare's request stream: "start" when a request begins, "summary" with the finished row.
        api.MapGet("/requests/stream", async (HttpContext context, ICcflareStore store, IHostApplicationLifetime lifetime) =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            var ct = stop.Token;
            await StartSseAsync(context);
            var seen = new HashSet<string>((await store.GetRecentRequestsAsync(1000, false, ct)).Select(r => r.Id));
            var accounts = (await store.GetAccountsAsync(ct)).ToDictionary(a => a.Id, a => a.Name);
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    foreach (var r in (await store.GetRecentRequestsAsync(50, false, ct)).Reverse())
                    {
                        if (seen.Add(r.Id))
                        {
                            if (r.AccountUsed is { } id && !accounts.ContainsKey(id))
                            {
                                accounts = (await store.GetAccountsAsync(ct)).ToDictionary(a => a.Id, a => a.Name);
                            }
                            var name = r.AccountName ?? (r.AccountUsed is { } aid ? accounts.GetValueOrDefault(aid) : null);
                            await WriteEventAsync(context, new { type = "start", id = r.Id, timestamp = r.Timestamp, method = r.Method, path = r.Path, accountId = r.AccountUsed }, ct);
                            await WriteEventAsync(context, new { type = "summary", payload = Summary(r, name) }, ct);
                        }
                    }
                    await Task.Delay(200, ct);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        api.MapGet("/logs/history", () => Results.Json(state.Logs.ToArray(), Json));

        api.MapGet("/logs/stream", async (HttpContext context, IHostApplicationLifetime lifetime) =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            var ct = stop.Token;
            await StartSseAsync(context);
            var sent = state.Logs.Count;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    var logs = state.Logs.ToArray();
                    for (; sent < logs.Length; sent++)
                    {
                        await WriteEventAsync(context, logs[sent], ct);
                    }
                    await Task.Delay(200, ct);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        api.MapGet("/config/retention", () => Results.Json(new { payloadDays = state.PayloadDays, requestDays = state.RequestDays }, Json));
        api.MapPost("/config/retention", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            state.PayloadDays = body.RootElement.GetProperty("payloadDays").GetInt32();
            state.RequestDays = body.RootElement.GetProperty("requestDays").GetInt32();
            return Results.Json(new { payloadDays = state.PayloadDays, requestDays = state.RequestDays }, Json);
        });
    }

    private static async Task<List<RequestRecord>> ReadAllAsync(ICcflareStore store, RequestQuery? query, CancellationToken ct)
    {
        var list = new List<RequestRecord>();
        await foreach (var r in store.QueryRequestsAsync(query ?? new RequestQuery(), ct))
        {
            list.Add(r);
        }
        return list;
    }

    private static object Totals(List<RequestRecord> rows, int activeAccounts) => new
    {
        totalRequests = rows.Count,
        successRate = Pct(rows.Count(r => r.Success), rows.Count),
        activeAccounts,
        avgResponseTime = rows.Count == 0 ? 0 : Math.Round(rows.Average(r => r.ResponseTimeMs ?? 0), 1),
        totalTokens = rows.Sum(r => r.TotalTokens ?? 0),
        totalCostUsd = rows.Sum(r => r.CostUsd ?? 0),
        avgTokensPerSecond = rows.Any(r => r.OutputTokensPerSecond is not null) ? Math.Round(rows.Where(r => r.OutputTokensPerSecond is not null).Average(r => r.OutputTokensPerSecond!.Value), 1) : (double?)null,
        topModels = rows.Where(r => r.Model is not null).GroupBy(r => r.Model!).OrderByDescending(g => g.Count()).Take(5).Select(g => new { model = g.Key, count = g.Count() }),
    };

    private static double Pct(int part, int whole) => whole == 0 ? 0 : Math.Round(100.0 * part / whole, 1);

    private static List<string> Split(Microsoft.Extensions.Primitives.StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>A row in the shape of GET /api/requests.</summary>
    public static object Summary(RequestRecord r, string? accountName) => new
    {
        id = r.Id, timestamp = r.Timestamp, method = r.Method, path = r.Path, provider = r.Provider, upstreamPath = r.UpstreamPath,
        accountUsed = r.AccountUsed, accountName, statusCode = r.StatusCode, success = r.Success, errorMessage = r.ErrorMessage,
        responseTimeMs = r.ResponseTimeMs, failoverAttempts = r.FailoverAttempts, model = r.Model, promptTokens = r.PromptTokens,
        completionTokens = r.CompletionTokens, totalTokens = r.TotalTokens, inputTokens = r.InputTokens, outputTokens = r.OutputTokens,
        cacheReadInputTokens = r.CacheReadInputTokens, cacheCreationInputTokens = r.CacheCreationInputTokens, reasoningTokens = r.ReasoningTokens,
        costUsd = r.CostUsd, tokensPerSecond = r.OutputTokensPerSecond, ttftMs = r.TtftMs, proxyOverheadMs = r.ProxyOverheadMs,
        upstreamTtfbMs = r.UpstreamTtfbMs, streamingDurationMs = r.StreamingDurationMs, responseId = r.ResponseId,
        previousResponseId = r.PreviousResponseId, responseChainId = r.ResponseChainId, clientSessionId = r.ClientSessionId,
        userId = r.UserId, userName = (string?)null,
    };

    private static async Task StartSseAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(": connected\n\n");
        await context.Response.Body.FlushAsync();
    }

    private static async Task WriteEventAsync(HttpContext context, object data, CancellationToken ct)
    {
        var line = "data: " + JsonSerializer.Serialize(data, Json) + "\n\n";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), ct);
        await context.Response.Body.FlushAsync(ct);
    }
}

/// <summary>Mutable state behind the stubs (retention, logs, OAuth starts).</summary>
internal sealed class StubState
{
    public int PayloadDays { get; set; } = 7;

    public int RequestDays { get; set; } = 30;

    public System.Collections.Concurrent.ConcurrentQueue<object> Logs { get; } = new();

}
