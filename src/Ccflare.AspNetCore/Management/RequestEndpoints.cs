using Ccflare.Accounts;
using Ccflare.Http;
using Ccflare.Pricing;
using Ccflare.Recording;
using Ccflare.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Management;

/// <summary>
/// <c>GET /api/requests</c>, <c>GET /api/requests/detail</c>, <c>GET /api/requests/{id}</c> and the live
/// <c>GET /api/requests/stream</c> (SSE).
/// </summary>
internal static class RequestEndpoints
{
    public const int MaxLimit = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/requests", async (HttpContext context, ICcflareStore store, AccountRegistry registry, PriceTable prices, AccessKeyService users) =>
        {
            if (!TryReadLimit(context, 50, out var limit, out var error))
            {
                return error!;
            }
            if (!TryReadClientSession(context, out var session, out error))
            {
                return error!;
            }
            var records = await RecentAsync(store, session, limit, includePayloads: false, context.RequestAborted).ConfigureAwait(false);
            var list = new List<RequestSummaryResponse>(records.Count);
            foreach (var record in records)
            {
                list.Add(Summary(record, registry, prices, users));
            }
            return Results.Json(list, CcflareJson.Options);
        });

        api.MapGet("/requests/detail", async (HttpContext context, ICcflareStore store, AccountRegistry registry) =>
        {
            if (!TryReadLimit(context, 100, out var limit, out var error))
            {
                return error!;
            }
            if (!TryReadClientSession(context, out var session, out error))
            {
                return error!;
            }
            var records = await RecentAsync(store, session, limit, includePayloads: true, context.RequestAborted).ConfigureAwait(false);
            var list = new List<RequestDetailResponse>(records.Count);
            foreach (var record in records)
            {
                if (record.Payload is not null)
                {
                    list.Add(RequestDetailResponse.From(record, AccountName(record, registry)));
                }
            }
            return Results.Json(list, CcflareJson.Options);
        });

        api.MapGet("/requests/stream", async (HttpContext context, TimeProvider time) =>
        {
            var events = context.RequestServices.GetRequiredService<RequestEvents>();
            var registry = context.RequestServices.GetRequiredService<AccountRegistry>();
            var prices = context.RequestServices.GetRequiredService<PriceTable>();
            var users = context.RequestServices.GetRequiredService<AccessKeyService>();
            using var subscription = events.Live.Subscribe();
            await ServerSentEvents.RunAsync(context, subscription.Reader, e => Shape(e, registry, prices, users), ServerSentEvents.DefaultHeartbeat, time).ConfigureAwait(false);
        });

        api.MapGet("/requests/{id}", async (string id, HttpContext context, ICcflareStore store, AccountRegistry registry) =>
        {
            var record = await store.GetRequestAsync(id, context.RequestAborted).ConfigureAwait(false);
            return record is null
                ? JsonErrors.Result(StatusCodes.Status404NotFound, $"Request '{id}' not found.")
                : Results.Json(RequestDetailResponse.From(record, AccountName(record, registry)), CcflareJson.Options);
        });
    }

    private static object Shape(RequestLiveEvent e, AccountRegistry registry, PriceTable prices, AccessKeyService users) => e.Record is { } record
        ? new { type = e.Type, id = e.Id, payload = Summary(record, registry, prices, users) }
        : new { type = e.Type, id = e.Id, timestamp = e.Timestamp, method = e.Method, path = e.Path, provider = e.Provider };

    internal static RequestSummaryResponse Summary(RequestRecord record, AccountRegistry registry, PriceTable prices, AccessKeyService users)
    {
        var userName = users.NameOf(record.UserId);
        var costUnknown = record.CostUsd == 0m && (record.PromptTokens is not null || record.CompletionTokens is not null) && prices.Find(record.Model) is null;
        return RequestSummaryResponse.From(record, AccountName(record, registry), userName, costUnknown);
    }

    /// <summary>
    /// The newest <paramref name="limit"/> requests, newest first; with a client session, only that
    /// session's (read through the store's query, keeping the last <paramref name="limit"/> rows).
    /// </summary>
    private static async Task<IReadOnlyList<RequestRecord>> RecentAsync(ICcflareStore store, string? clientSessionId, int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        if (clientSessionId is null)
        {
            return await store.GetRecentRequestsAsync(limit, includePayloads, cancellationToken).ConfigureAwait(false);
        }
        var newest = new Queue<RequestRecord>(Math.Min(limit, 256));
        await foreach (var record in store.QueryRequestsAsync(new RequestQuery { ClientSessionIds = [clientSessionId] }, cancellationToken).ConfigureAwait(false))
        {
            // A third-party store written before the session filter existed returns every row.
            if (!string.Equals(record.ClientSessionId, clientSessionId, StringComparison.Ordinal))
            {
                continue;
            }
            if (newest.Count == limit)
            {
                newest.Dequeue();
            }
            newest.Enqueue(record);
        }
        var list = new List<RequestRecord>(newest.Count);
        while (newest.Count > 0)
        {
            list.Add(newest.Dequeue());
        }
        list.Reverse();
        if (includePayloads)
        {
            for (var i = 0; i < list.Count; i++)
            {
                list[i] = await store.GetRequestAsync(list[i].Id, cancellationToken).ConfigureAwait(false) ?? list[i];
            }
        }
        return list;
    }

    /// <summary>Reads the optional <c>clientSessionId</c> filter.</summary>
    internal static bool TryReadClientSession(HttpContext context, out string? clientSessionId, out IResult? error)
    {
        error = null;
        clientSessionId = null;
        var raw = context.Request.Query["clientSessionId"];
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0]))
        {
            return true;
        }
        if (raw.Count > 1 || raw[0]!.Length > 200)
        {
            error = JsonErrors.Result(StatusCodes.Status400BadRequest, "clientSessionId must be given once and be at most 200 characters.");
            return false;
        }
        clientSessionId = raw[0];
        return true;
    }

    private static string? AccountName(RequestRecord record, AccountRegistry registry) =>
        record.AccountName ?? (record.AccountUsed is { } id ? registry.Find(id)?.Name : null);

    public static bool TryReadLimit(HttpContext context, int fallback, out int limit, out IResult? error)
    {
        error = null;
        limit = fallback;
        var raw = context.Request.Query["limit"];
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0]))
        {
            return true;
        }
        if (!int.TryParse(raw[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit)
        {
            error = JsonErrors.Result(StatusCodes.Status400BadRequest, $"limit must be an integer between 1 and {MaxLimit}.");
            return false;
        }
        return true;
    }
}

/// <summary>
/// A request as <c>GET /api/requests</c> shows it (ccflare's camelCase names). <c>costUnknown</c> and
/// <c>costEstimated</c> are Ccflare's additions: true when the response reported tokens but neither the
/// model nor its family has a price (cost 0), and when the cost is the model family's estimate.
/// </summary>
internal sealed record RequestSummaryResponse(
    string Id, DateTimeOffset Timestamp, string Method, string Path, string? Provider, string? UpstreamPath,
    string? AccountUsed, string? AccountName, int? StatusCode, bool Success, string? ErrorMessage, double? ResponseTimeMs,
    int FailoverAttempts, string? Model, long? PromptTokens, long? CompletionTokens, long? TotalTokens, long? InputTokens,
    long? OutputTokens, long? CacheReadInputTokens, long? CacheCreationInputTokens, long? ReasoningTokens, decimal? CostUsd,
    double? TokensPerSecond, double? TtftMs, double? ProxyOverheadMs, double? UpstreamTtfbMs, double? StreamingDurationMs,
    string? ResponseId, string? PreviousResponseId, string? ResponseChainId, string? ClientSessionId, string? UserId, string? UserName,
    bool CostUnknown = false, bool CostEstimated = false)
{
    public static RequestSummaryResponse From(RequestRecord r, string? accountName, string? userName = null, bool costUnknown = false) => new(
        r.Id, r.Timestamp, r.Method, r.Path, r.Provider, r.UpstreamPath, r.AccountUsed, accountName, r.StatusCode, r.Success,
        r.ErrorMessage, r.ResponseTimeMs, r.FailoverAttempts, r.Model, r.PromptTokens, r.CompletionTokens, r.TotalTokens,
        r.InputTokens, r.OutputTokens, r.CacheReadInputTokens, r.CacheCreationInputTokens, r.ReasoningTokens, r.CostUsd,
        r.OutputTokensPerSecond, r.TtftMs, r.ProxyOverheadMs, r.UpstreamTtfbMs, r.StreamingDurationMs, r.ResponseId,
        r.PreviousResponseId, r.ResponseChainId, r.ClientSessionId, r.UserId, userName, costUnknown, r.CostEstimated);
}

/// <summary>
/// A request as <c>GET /api/requests/detail</c> shows it: ccflare's
/// <c>{id, request {headers, body}, response {status, headers, body}, meta {...}}</c>, bodies base64,
/// credentials masked. <c>meta.timestamp</c> is epoch milliseconds as in ccflare.
/// </summary>
internal sealed record RequestDetailResponse(string Id, RequestPart Request, ResponsePart Response, DetailMeta Meta)
{
    public static RequestDetailResponse From(RequestRecord record, string? accountName)
    {
        var payload = record.Payload ?? new RequestPayload();
        return new(
            record.Id,
            new RequestPart(payload.RequestHeaders, Base64(payload.RequestBody)),
            new ResponsePart(payload.ResponseStatus ?? record.StatusCode, payload.ResponseHeaders, Base64(payload.ResponseBody), payload.ResponseBodyTruncated),
            new DetailMeta(record.AccountUsed, accountName, record.FailoverAttempts, record.Timestamp.ToUnixTimeMilliseconds(), record.Success,
                payload.RateLimited, payload.AccountsAttempted.Count, payload.AccountsAttempted, record.Path, record.Method, record.Model));
    }

    private static string? Base64(byte[]? body) => body is null ? null : Convert.ToBase64String(body);
}

internal sealed record RequestPart(IReadOnlyDictionary<string, string> Headers, string? Body);

internal sealed record ResponsePart(int? Status, IReadOnlyDictionary<string, string> Headers, string? Body, bool Truncated);

internal sealed record DetailMeta(
    string? AccountId, string? AccountName, int Retry, long Timestamp, bool Success, bool RateLimited, int AccountsAttempted,
    IReadOnlyList<string> AccountIdsAttempted, string Path, string Method, string? Model);
