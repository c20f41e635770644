namespace Ccflare;

/// <summary>
/// One proxied request as recorded in history. Field names mirror ccflare's <c>requests</c> table.
/// </summary>
public sealed record RequestRecord
{
    /// <summary>Unique id (a UUID string).</summary>
    public required string Id { get; init; }

    /// <summary>When the request arrived.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>HTTP method.</summary>
    public required string Method { get; init; }

    /// <summary>Path as the client sent it.</summary>
    public required string Path { get; init; }

    /// <summary>Provider of the route (or of the family chosen by a compatibility route).</summary>
    public string? Provider { get; init; }

    /// <summary>Path sent to the upstream.</summary>
    public string? UpstreamPath { get; init; }

    /// <summary>Id of the account that served the request.</summary>
    public string? AccountUsed { get; init; }

    /// <summary>Name of the account that served the request.</summary>
    public string? AccountName { get; init; }

    /// <summary>Status code sent to the client (499 when the client went away).</summary>
    public int? StatusCode { get; init; }

    /// <summary>Whether the request succeeded (2xx/3xx).</summary>
    public bool Success => StatusCode is >= 200 and < 400;

    /// <summary>Error description when the request failed.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Total time until the response completed.</summary>
    public double? ResponseTimeMs { get; init; }

    /// <summary>How many accounts were tried before the one that answered.</summary>
    public int FailoverAttempts { get; init; }

    /// <summary>Model requested or reported.</summary>
    public string? Model { get; init; }

    /// <summary>Prompt tokens including cache reads and writes.</summary>
    public long? PromptTokens { get; init; }

    /// <summary>Completion tokens.</summary>
    public long? CompletionTokens { get; init; }

    /// <summary>Prompt plus completion tokens.</summary>
    public long? TotalTokens { get; init; }

    /// <summary>Cost in US dollars from the price table.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>
    /// True when the model had no price of its own and <see cref="CostUsd"/> uses the newest known
    /// price of its family (for example a new <c>claude-opus-*</c> priced as the newest known Opus).
    /// </summary>
    public bool CostEstimated { get; init; }

    /// <summary>Output tokens per second of generation.</summary>
    public double? OutputTokensPerSecond { get; init; }

    /// <summary>Uncached input tokens.</summary>
    public long? InputTokens { get; init; }

    /// <summary>Input tokens read from the prompt cache.</summary>
    public long? CacheReadInputTokens { get; init; }

    /// <summary>Input tokens written to the prompt cache.</summary>
    public long? CacheCreationInputTokens { get; init; }

    /// <summary>Output tokens.</summary>
    public long? OutputTokens { get; init; }

    /// <summary>Reasoning tokens (OpenAI).</summary>
    public long? ReasoningTokens { get; init; }

    /// <summary>Provider's response id.</summary>
    public string? ResponseId { get; init; }

    /// <summary>Responses API <c>previous_response_id</c>.</summary>
    public string? PreviousResponseId { get; init; }

    /// <summary>Id of the first response of a Responses API chain.</summary>
    public string? ResponseChainId { get; init; }

    /// <summary>The client's session id (Claude Code's <c>x-claude-code-session-id</c>, Codex's <c>session_id</c>), when sent.</summary>
    public string? ClientSessionId { get; init; }

    /// <summary>Time to first token.</summary>
    public double? TtftMs { get; init; }

    /// <summary>Time spent in the proxy itself (total minus upstream wait).</summary>
    public double? ProxyOverheadMs { get; init; }

    /// <summary>Time to the upstream's first response byte.</summary>
    public double? UpstreamTtfbMs { get; init; }

    /// <summary>Duration of the streamed body.</summary>
    public double? StreamingDurationMs { get; init; }

    /// <summary>Access-key user that sent the request.</summary>
    public string? UserId { get; init; }

    /// <summary>Captured headers and bodies, when payload capture is on.</summary>
    public RequestPayload? Payload { get; init; }
}

/// <summary>Captured request and response headers and bodies, credentials already masked.</summary>
public sealed record RequestPayload
{
    /// <summary>Request headers as forwarded (credentials masked).</summary>
    public IReadOnlyDictionary<string, string> RequestHeaders { get; init; } = new Dictionary<string, string>();

    /// <summary>Request body, if any.</summary>
    public byte[]? RequestBody { get; init; }

    /// <summary>True when <see cref="RequestBody"/> was cut at <see cref="CcflareOptions.MaxStoredPayloadBytes"/> (it then ends with a marker naming the bytes left out).</summary>
    public bool RequestBodyTruncated { get; init; }

    /// <summary>Upstream response status.</summary>
    public int? ResponseStatus { get; init; }

    /// <summary>Response headers (credentials masked).</summary>
    public IReadOnlyDictionary<string, string> ResponseHeaders { get; init; } = new Dictionary<string, string>();

    /// <summary>Response body, possibly truncated.</summary>
    public byte[]? ResponseBody { get; init; }

    /// <summary>True when <see cref="ResponseBody"/> was cut at the capture limit.</summary>
    public bool ResponseBodyTruncated { get; init; }

    /// <summary>Whether the request was rate limited on some account.</summary>
    public bool RateLimited { get; init; }

    /// <summary>Ids of every account attempted, in order.</summary>
    public IReadOnlyList<string> AccountsAttempted { get; init; } = [];
}
