using Ccflare.Pricing;
using Ccflare.Proxy;
using Ccflare.Usage;

namespace Ccflare.Recording;

/// <summary>
/// Turns a finished <see cref="ProxyExchange"/> into a <see cref="RequestRecord"/>, off the
/// request path: usage parsed from the captured response, cost from the price table,
/// response chains, timings, and the payload with credentials masked.
/// </summary>
internal static class RecordBuilder
{
    /// <summary>Builds without pricing or chains (tests and callers that only need the basics).</summary>
    public static RequestRecord Build(ProxyExchange exchange, bool capturePayloads) =>
        Build(exchange, capturePayloads, prices: null, chains: null, out _);

    /// <summary>Reads the client's session id: Claude Code's header, else Codex's (<c>session_id</c>, formerly also <c>conversation_id</c>).</summary>
    public static string? ReadClientSessionId(Microsoft.AspNetCore.Http.IHeaderDictionary headers)
    {
        foreach (var name in ClientSessionHeaders)
        {
            if (headers.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { Length: > 0 and <= MaxClientSessionIdLength } value
                && !value.AsSpan().ContainsAnyInRange('\0', '\u001f'))
            {
                return value;
            }
        }
        return null;
    }

    private const int MaxClientSessionIdLength = 200;

    private static readonly string[] ClientSessionHeaders = ["x-claude-code-session-id", "session_id", "conversation_id"];

    public static RequestRecord Build(ProxyExchange exchange, bool capturePayloads, PriceTable? prices, ResponseChains? chains, out bool costUnknown) =>
        Build(exchange, capturePayloads, prices, chains, int.MaxValue, out costUnknown);

    /// <summary>Builds the row; bodies longer than <c>maxStoredPayloadBytes</c> are stored cut (<see cref="CcflareOptions.MaxStoredPayloadBytes"/>).</summary>
    public static RequestRecord Build(ProxyExchange exchange, bool capturePayloads, PriceTable? prices, ResponseChains? chains, int maxStoredPayloadBytes, out bool costUnknown)
    {
        var requestBody = exchange.RequestBodyOwner is { Length: > 0 } owner ? owner.Span : default;
        var fields = exchange.RequestFields ?? RequestFields.Read(requestBody);
        var account = exchange.Account?.Snapshot;

        var responseBody = exchange.ResponseBody is { } captured
            ? new ReadOnlyMemory<byte>(captured, 0, exchange.ResponseBodyLength)
            : ReadOnlyMemory<byte>.Empty;
        var usage = exchange.Usage ?? UsageParser.Parse(responseBody, exchange.IsStreaming);

        var model = Model(exchange, usage, fields);
        costUnknown = false;
        var costEstimated = false;
        var cost = prices?.Cost(model, usage, out costUnknown, out costEstimated);

        var chain = ResolveChain(chains, usage.Format, usage.ResponseId, fields.PreviousResponseId);

        return new RequestRecord
        {
            Id = exchange.Id,
            Timestamp = exchange.Timestamp,
            Method = exchange.Method,
            Path = exchange.Path,
            Provider = exchange.Provider,
            UpstreamPath = exchange.UpstreamPath,
            AccountUsed = account?.Id,
            AccountName = account?.Name,
            StatusCode = exchange.StatusCode,
            ErrorMessage = exchange.ErrorMessage,
            ResponseTimeMs = exchange.ResponseTimeMs,
            FailoverAttempts = exchange.FailoverAttempts,
            Model = model,
            PromptTokens = usage.PromptTokens,
            CompletionTokens = usage.CompletionTokens,
            TotalTokens = usage.TotalTokens,
            CostUsd = cost,
            CostEstimated = costEstimated,
            OutputTokensPerSecond = OutputTokensPerSecond(exchange, usage),
            InputTokens = usage.InputTokens,
            CacheReadInputTokens = usage.CacheReadInputTokens,
            CacheCreationInputTokens = usage.CacheCreationInputTokens,
            OutputTokens = usage.OutputTokens,
            ReasoningTokens = usage.ReasoningTokens,
            ResponseId = usage.ResponseId,
            PreviousResponseId = fields.PreviousResponseId,
            ResponseChainId = chain,
            ClientSessionId = exchange.ClientSessionId,
            TtftMs = exchange.FirstByteToClientMs,
            ProxyOverheadMs = ProxyOverheadMs(exchange),
            UpstreamTtfbMs = exchange.UpstreamTtfbMs,
            StreamingDurationMs = StreamingDurationMs(exchange),
            UserId = exchange.UserId,
            Payload = capturePayloads && !exchange.PayloadDropped ? BuildPayload(exchange, account, maxStoredPayloadBytes) : null,
        };
    }

    /// <summary>The model of the row: the one that answered wins over the one asked for (aliases resolve to dated ids).</summary>
    internal static string? Model(ProxyExchange exchange, UsageInfo usage, RequestFields fields) => usage.Model ?? exchange.Model ?? fields.Model;

    /// <summary>Time the request spent in the proxy, not waiting for the upstream.</summary>
    internal static double? ProxyOverheadMs(ProxyExchange exchange) => exchange.ResponseTimeMs is { } total
        ? Math.Max(0, total - (exchange.UpstreamWaitTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency))
        : null;

    internal static double? OutputTokensPerSecond(ProxyExchange exchange, UsageInfo usage)
    {
        var generationMs = exchange.IsStreaming ? exchange.StreamingDurationMs : exchange.ResponseTimeMs;
        return usage.OutputTokens is > 0 && generationMs is > 0 ? usage.OutputTokens.Value / (generationMs.Value / 1000.0) : null;
    }

    internal static double? StreamingDurationMs(ProxyExchange exchange) => exchange.IsStreaming ? exchange.StreamingDurationMs : null;

    /// <summary>The Responses API chain a row belongs to; only Responses traffic (or a request naming a previous response) has one.</summary>
    internal static string? ResolveChain(ResponseChains? chains, UsageFormat format, string? responseId, string? previousResponseId) =>
        format == UsageFormat.OpenAIResponses || previousResponseId is not null ? chains?.Resolve(responseId, previousResponseId) : null;

    /// <summary>The stored payload. Takes over the exchange's exact (unpooled) body arrays instead of copying them.</summary>
    private static RequestPayload BuildPayload(ProxyExchange exchange, Account? account, int maxBytes)
    {
        var secrets = Secrets(account);
        // The payload takes the header captures over (masked in place), as it takes the body arrays.
        var requestHeaders = exchange.RequestHeaders;
        var responseHeaders = exchange.ResponseHeaders;
        exchange.RequestHeaders = null;
        exchange.ResponseHeaders = null;
        var responseCut = exchange.ResponseBody is not null && exchange.ResponseBodyLength > maxBytes;
        return new()
        {
            RequestHeaders = Masked(requestHeaders, secrets),
            RequestBody = exchange.RequestBodyOwner is { Length: > 0 } owner
                ? owner.Length > maxBytes ? PayloadMasking.MaskAndCut(owner.Span, secrets, maxBytes) : PayloadMasking.Mask(owner.DetachArray(), secrets)
                : null,
            RequestBodyTruncated = exchange.RequestBodyOwner is { } cut && cut.Length > maxBytes,
            ResponseStatus = exchange.UpstreamStatus ?? exchange.StatusCode,
            ResponseHeaders = Masked(responseHeaders, secrets),
            ResponseBody = responseCut
                ? PayloadMasking.MaskAndCut(exchange.ResponseBody.AsSpan(0, exchange.ResponseBodyLength), secrets, maxBytes)
                : DetachResponseBody(exchange) is { } body ? PayloadMasking.Mask(body, secrets) : null,
            ResponseBodyTruncated = exchange.ResponseBodyTruncated || responseCut,
            RateLimited = exchange.RateLimited,
            AccountsAttempted = exchange.AccountsAttempted is { } attempted ? [.. attempted] : [],
        };
    }

    private static byte[]? DetachResponseBody(ProxyExchange exchange)
    {
        if (exchange.ResponseBody is not { } body)
        {
            return null;
        }
        if (!exchange.ResponseBodyPooled && body.Length == exchange.ResponseBodyLength)
        {
            exchange.ResponseBody = null;
            return body;
        }
        return body.AsSpan(0, exchange.ResponseBodyLength).ToArray();
    }

    private static string[] Secrets(Account? account)
    {
        if (account is null)
        {
            return [];
        }
        var count = (string.IsNullOrEmpty(account.ApiKey) ? 0 : 1) + (string.IsNullOrEmpty(account.AccessToken) ? 0 : 1) + (string.IsNullOrEmpty(account.RefreshToken) ? 0 : 1);
        if (count == 0)
        {
            return [];
        }
        var secrets = new string[count];
        var i = 0;
        foreach (var secret in (ReadOnlySpan<string?>)[account.ApiKey, account.AccessToken, account.RefreshToken])
        {
            if (!string.IsNullOrEmpty(secret))
            {
                secrets[i++] = secret;
            }
        }
        return secrets;
    }

    /// <summary>The captured headers as stored: names lowered, sensitive values masked, and the account's secrets masked wherever they appear.</summary>
    private static StoredHeaders Masked(KeyValuePair<string, string>[]? headers, string[] secrets)
    {
        if (headers is null)
        {
            return StoredHeaders.Empty;
        }
        // The capture belongs to the exchange, which is done with it: masked in place, no copy.
        return StoredHeaders.TakeOver(headers, secrets, static (header, secrets) =>
        {
            var masked = HeaderRules.IsSensitive(header.Key) ? HeaderRules.Mask(header.Value) : header.Value;
            foreach (var secret in secrets)
            {
                if (secret.Length >= 8 && masked.Contains(secret, StringComparison.Ordinal))
                {
                    masked = masked.Replace(secret, PayloadMasking.Masked, StringComparison.Ordinal);
                }
            }
            return new KeyValuePair<string, string>(LowerName(header.Key), masked);
        });
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> LowerNames = new(StringComparer.Ordinal);

    /// <summary>A header name in lower case; the handful of names real traffic uses are lowered once, not per request.</summary>
    private static string LowerName(string name)
    {
        if (!name.AsSpan().ContainsAnyInRange('A', 'Z'))
        {
            return name;
        }
        if (LowerNames.TryGetValue(name, out var lower))
        {
            return lower;
        }
        lower = name.ToLowerInvariant();
        if (LowerNames.Count < 512)
        {
            LowerNames.TryAdd(name, lower);
        }
        return lower;
    }

    /// <summary>Reads the top-level <c>model</c> string of a JSON body without materialising the document.</summary>
    internal static string? ReadModel(ReadOnlySpan<byte> json) => RequestFields.Read(json).Model;
}
