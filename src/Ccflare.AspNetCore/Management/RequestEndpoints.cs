using Ccflare.Accounts;
using Ccflare.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Management;

internal static class RequestEndpoints
{
    public const int MaxLimit = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/requests", async (HttpContext context, ICcflareStore store, AccountRegistry registry, Security.AccessKeyService users) =>
        {
            if (!TryReadLimit(context, 50, out var limit, out var error))
            {
                return error!;
            }
            var records = await store.GetRecentRequestsAsync(limit, includePayloads: false, context.RequestAborted).ConfigureAwait(false);
            var list = new List<RequestSummaryResponse>(records.Count);
            foreach (var record in records)
            {
                var accountName = record.AccountName ?? (record.AccountUsed is { } id ? registry.Find(id)?.Name : null);
                list.Add(RequestSummaryResponse.From(record, accountName, users.NameOf(record.UserId)));
            }
            return Results.Json(list, CcflareJson.Options);
        });
    }

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

/// <summary>A request as <c>GET /api/requests</c> shows it (ccflare's camelCase names).</summary>
internal sealed record RequestSummaryResponse(
    string Id, DateTimeOffset Timestamp, string Method, string Path, string? Provider, string? UpstreamPath,
    string? AccountUsed, string? AccountName, int? StatusCode, bool Success, string? ErrorMessage, double? ResponseTimeMs,
    int FailoverAttempts, string? Model, long? PromptTokens, long? CompletionTokens, long? TotalTokens, long? InputTokens,
    long? OutputTokens, long? CacheReadInputTokens, long? CacheCreationInputTokens, long? ReasoningTokens, decimal? CostUsd,
    double? TokensPerSecond, double? TtftMs, double? ProxyOverheadMs, double? UpstreamTtfbMs, double? StreamingDurationMs,
    string? ResponseId, string? PreviousResponseId, string? ResponseChainId, string? ClientSessionId, string? UserId, string? UserName)
{
    public static RequestSummaryResponse From(RequestRecord r, string? accountName, string? userName = null) => new(
        r.Id, r.Timestamp, r.Method, r.Path, r.Provider, r.UpstreamPath, r.AccountUsed, accountName, r.StatusCode, r.Success,
        r.ErrorMessage, r.ResponseTimeMs, r.FailoverAttempts, r.Model, r.PromptTokens, r.CompletionTokens, r.TotalTokens,
        r.InputTokens, r.OutputTokens, r.CacheReadInputTokens, r.CacheCreationInputTokens, r.ReasoningTokens, r.CostUsd,
        r.OutputTokensPerSecond, r.TtftMs, r.ProxyOverheadMs, r.UpstreamTtfbMs, r.StreamingDurationMs, r.ResponseId,
        r.PreviousResponseId, r.ResponseChainId, r.ClientSessionId, r.UserId, userName);
}
