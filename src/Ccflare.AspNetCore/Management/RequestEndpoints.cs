using System.Text.Json.Serialization;
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
                await error!.ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            if (!TryReadClientSession(context, out var session, out error)
                || !TryReadBounded(context, "offset", 0, 0, MaxDetailOffset, out var offset, out error)
                || !TryReadBounded(context, "maxBytes", MaxDetailBodyBytes, MinDetailBodyBytes, MaxDetailBodyBytes, out var maxBytes, out error))
            {
                await error!.ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            await WriteDetailPageAsync(context, store, registry, session, new DetailPage(offset, limit, maxBytes)).ConfigureAwait(false);
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

        api.MapGet("/requests/{id}/conversation", async (string id, HttpContext context, ICcflareStore store, AccountRegistry registry) =>
        {
            var record = await store.GetRequestAsync(id, context.RequestAborted).ConfigureAwait(false);
            if (record is null)
            {
                return JsonErrors.Result(StatusCodes.Status404NotFound, $"Request '{id}' not found.");
            }
            var chain = await ConversationOf(record, store, context.RequestAborted).ConfigureAwait(false);
            var list = new List<RequestDetailResponse>(chain.Count);
            foreach (var link in chain)
            {
                list.Add(RequestDetailResponse.From(link, AccountName(link, registry)));
            }
            return Results.Json(list, CcflareJson.Options);
        });

        api.MapGet("/requests/{id}", async (string id, HttpContext context, ICcflareStore store, AccountRegistry registry) =>
        {
            var record = await store.GetRequestAsync(id, context.RequestAborted).ConfigureAwait(false);
            return record is null
                ? JsonErrors.Result(StatusCodes.Status404NotFound, $"Request '{id}' not found.")
                : Results.Json(RequestDetailResponse.From(record, AccountName(record, registry)), CcflareJson.Options);
        });
    }

    /// <summary>Most rows <c>/api/requests/detail</c> skips with <c>offset</c>: rows without payloads are read up to offset plus limit.</summary>
    internal const int MaxDetailOffset = 100_000;

    /// <summary>
    /// Most stored body bytes (request plus response, before base64) one <c>/api/requests/detail</c> answer carries,
    /// and the default of its <c>maxBytes</c>. With bodies capped at <c>MaxStoredPayloadBytes</c> (1 MiB each by
    /// default) a full page of 100 rows could otherwise run to hundreds of megabytes.
    /// </summary>
    internal const int MaxDetailBodyBytes = 16 * 1024 * 1024;

    internal const int MinDetailBodyBytes = 1024;

    /// <summary>Header naming the <c>offset</c> of the next page; absent on the last page.</summary>
    internal const string NextOffsetHeader = "X-Ccflare-Next-Offset";

    /// <summary>Header set to <c>true</c> when the byte cap ended the page before <c>limit</c> rows.</summary>
    internal const string PageCutHeader = "X-Ccflare-Page-Truncated";

    private readonly record struct DetailPage(int Offset, int Limit, int MaxBodyBytes);

    /// <summary>
    /// Rows first, then one payload at a time, each written out before the next is read: the answer never
    /// holds more than one request's bodies. It stops before the row that would take the bodies past the
    /// page's byte cap (the first row is always written); the headers say where the next page starts.
    /// ccflare's shape (a bare array) is unchanged, so paging lives in the headers.
    /// </summary>
    private static async Task WriteDetailPageAsync(HttpContext context, ICcflareStore store, AccountRegistry registry, string? session, DetailPage page)
    {
        // One row more than the page: whether it exists says whether a next page does.
        var rows = await RecentAsync(store, session, page.Offset + page.Limit + 1, includePayloads: false, context.RequestAborted).ConfigureAwait(false);
        var end = Math.Min(rows.Count, page.Offset + page.Limit);
        var bodyBytes = 0L;
        var taken = 0;
        var cut = false;
        // Headers go out before the body, so the payloads are sized first; each row is read again when written.
        for (var i = page.Offset; i < end; i++)
        {
            var record = await store.GetRequestAsync(rows[i].Id, context.RequestAborted).ConfigureAwait(false);
            var size = record?.Payload is { } payload ? (payload.RequestBody?.LongLength ?? 0) + (payload.ResponseBody?.LongLength ?? 0) : 0;
            if (taken > 0 && bodyBytes + size > page.MaxBodyBytes)
            {
                cut = true;
                break;
            }
            bodyBytes += size;
            taken++;
        }
        var next = page.Offset + taken;
        if (next < rows.Count)
        {
            context.Response.Headers[NextOffsetHeader] = next.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (cut)
        {
            context.Response.Headers[PageCutHeader] = "true";
        }
        context.Response.ContentType = JsonErrors.ContentType;
        await using var json = new System.Text.Json.Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartArray();
        for (var i = page.Offset; i < page.Offset + taken; i++)
        {
            var record = await store.GetRequestAsync(rows[i].Id, context.RequestAborted).ConfigureAwait(false);
            if (record?.Payload is not null)
            {
                System.Text.Json.JsonSerializer.Serialize(json, RequestDetailResponse.From(record, AccountName(record, registry)), CcflareJson.Options);
                await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        json.WriteEndArray();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static bool TryReadBounded(HttpContext context, string name, int fallback, int min, int max, out int value, out IResult? error)
    {
        error = null;
        value = fallback;
        var raw = context.Request.Query[name];
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0]))
        {
            return true;
        }
        if (!int.TryParse(raw[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            error = JsonErrors.Result(StatusCodes.Status400BadRequest, $"{name} must be an integer between {min} and {max}.");
            return false;
        }
        return true;
    }

    /// <summary>ccflare's stream events, exactly: no field of its own is added, since ccflare's dashboard validates each event.</summary>
    private static object Shape(RequestLiveEvent e, AccountRegistry registry, PriceTable prices, AccessKeyService users) => e.Type switch
    {
        RequestEvents.Summary => new { type = e.Type, payload = Summary(e.Record!, registry, prices, users) },
        RequestEvents.Payload => new { type = e.Type, payload = RequestDetailResponse.From(e.Record!, AccountName(e.Record!, registry)) },
        RequestEvents.Start => new { type = e.Type, id = e.Id, timestamp = e.Timestamp.ToUnixTimeMilliseconds(), method = e.Method, path = e.Path, accountId = e.AccountId, statusCode = e.StatusCode },
        _ => (object)new { type = e.Type, id = e.Id, timestamp = e.Timestamp.ToUnixTimeMilliseconds(), method = e.Method, path = e.Path },
    };

    internal static RequestSummaryResponse Summary(RequestRecord record, AccountRegistry registry, PriceTable prices, AccessKeyService users)
    {
        var userName = users.NameOf(record.UserId);
        var costUnknown = record.CostUsd == 0m && (record.PromptTokens is not null || record.CompletionTokens is not null) && prices.Find(record.Model) is null;
        return RequestSummaryResponse.From(record, AccountName(record, registry), userName, costUnknown);
    }

    /// <summary>How far back <c>/api/requests/{id}/conversation</c> looks for earlier turns of a Responses API chain.</summary>
    internal static readonly TimeSpan ConversationWindow = TimeSpan.FromDays(1);

    /// <summary>Most turns one conversation answer holds (the latest ones).</summary>
    internal const int MaxConversationTurns = 100;

    /// <summary>
    /// The request and the earlier turns of its conversation, oldest first. A Responses API call that continued an
    /// earlier response (<c>previous_response_id</c>) shares that response's chain id; Messages and Chat Completions
    /// calls carry their whole conversation in their own body, so they are a conversation of one.
    /// </summary>
    private static async Task<IReadOnlyList<RequestRecord>> ConversationOf(RequestRecord record, ICcflareStore store, CancellationToken ct)
    {
        if (record.ResponseChainId is not { } chain)
        {
            return [record];
        }
        var ids = new List<string>();
        var query = new RequestQuery { From = record.Timestamp - ConversationWindow, To = record.Timestamp };
        await foreach (var row in store.QueryRequestsAsync(query, ct).ConfigureAwait(false))
        {
            if (row.ResponseChainId == chain && row.Id != record.Id)
            {
                ids.Add(row.Id);
            }
        }
        var turns = new List<RequestRecord>(Math.Min(ids.Count, MaxConversationTurns) + 1);
        foreach (var earlier in ids.Count > MaxConversationTurns - 1 ? ids[^(MaxConversationTurns - 1)..] : ids)
        {
            if (await store.GetRequestAsync(earlier, ct).ConfigureAwait(false) is { } turn)
            {
                turns.Add(turn);
            }
        }
        turns.Sort(static (a, b) => a.Timestamp.CompareTo(b.Timestamp));
        turns.Add(record);
        return turns;
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

    public static bool TryReadLimit(HttpContext context, int fallback, out int limit, out IResult? error) =>
        TryReadBounded(context, "limit", fallback, 1, MaxLimit, out limit, out error);
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
/// A request as <c>GET /api/requests/detail</c>, <c>GET /api/requests/{id}</c>, <c>GET /api/requests/{id}/conversation</c>
/// and the stream's <c>payload</c> event show it, in ccflare's shape:
/// <c>{id, request {headers, body}, response {status, headers, body} | null, error?, meta {trace, account, transport}}</c>,
/// bodies base64, credentials masked, <c>meta.trace.timestamp</c> in epoch milliseconds. Ccflare's additions sit beside
/// ccflare's fields: <c>request.truncated</c> and <c>response.truncated</c> (the stored body was cut), <c>meta.trace.model</c> and <c>meta.transport.accountIdsAttempted</c>.
/// </summary>
internal sealed record RequestDetailResponse(
    string Id,
    RequestPart Request,
    ResponsePart? Response,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    DetailMeta Meta)
{
    public static RequestDetailResponse From(RequestRecord record, string? accountName)
    {
        var payload = record.Payload ?? new RequestPayload();
        var status = payload.ResponseStatus ?? record.StatusCode;
        var response = status is { } code
            ? new ResponsePart(code, payload.ResponseHeaders, Base64(payload.ResponseBody), payload.ResponseBodyTruncated)
            : null;
        return new(
            record.Id,
            new RequestPart(payload.RequestHeaders, Base64(payload.RequestBody), payload.RequestBodyTruncated),
            response,
            record.Success ? null : record.ErrorMessage,
            new DetailMeta(
                new TraceMeta(record.Timestamp.ToUnixTimeMilliseconds(), record.Method, record.Path, record.Provider, record.UpstreamPath,
                    record.ResponseId, record.PreviousResponseId, record.ResponseChainId, record.ClientSessionId, record.Model),
                new AccountMeta(record.AccountUsed, accountName),
                new TransportMeta(record.Success, payload.RateLimited, payload.AccountsAttempted.Count, Pending: false, record.FailoverAttempts,
                    IsStream(record, payload), record.TtftMs, record.ProxyOverheadMs, record.UpstreamTtfbMs, record.StreamingDurationMs,
                    payload.AccountsAttempted)));
    }

    private static bool IsStream(RequestRecord record, RequestPayload payload)
    {
        if (record.StreamingDurationMs is not null)
        {
            return true;
        }
        foreach (var (name, value) in payload.ResponseHeaders)
        {
            if (string.Equals(name, "content-type", StringComparison.OrdinalIgnoreCase))
            {
                return value.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
            }
        }
        return false;
    }

    private static string? Base64(byte[]? body) => body is null ? null : Convert.ToBase64String(body);
}

internal sealed record RequestPart(IReadOnlyDictionary<string, string> Headers, string? Body, bool Truncated);

internal sealed record ResponsePart(int Status, IReadOnlyDictionary<string, string> Headers, string? Body, bool Truncated);

internal sealed record DetailMeta(TraceMeta Trace, AccountMeta Account, TransportMeta Transport);

/// <summary>ccflare's <c>meta.trace</c>; provider and upstreamPath are left out rather than null when unknown, as ccflare's readers expect.</summary>
internal sealed record TraceMeta(
    long Timestamp, string Method, string Path,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Provider,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UpstreamPath,
    string? ResponseId, string? PreviousResponseId, string? ResponseChainId, string? ClientSessionId, string? Model);

internal sealed record AccountMeta(string? Id, string? Name);

internal sealed record TransportMeta(
    bool Success, bool RateLimited, int AccountsAttempted, bool Pending, int Retry, bool IsStream, double? TtftMs, double? ProxyOverheadMs,
    double? UpstreamTtfbMs, double? StreamingDurationMs, IReadOnlyList<string> AccountIdsAttempted);
