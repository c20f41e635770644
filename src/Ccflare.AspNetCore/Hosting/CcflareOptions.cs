namespace Ccflare;

/// <summary>
/// Ccflare settings, bound from the <c>Ccflare</c> configuration section.
/// Defaults match ccflare's.
/// </summary>
public sealed class CcflareOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Ccflare";

    /// <summary>Load-balancing strategy used at start-up (<c>session</c> by default).</summary>
    public string LbStrategy { get; set; } = "session";

    /// <summary>How long the <c>session</c> strategy keeps an account (5 hours by default).</summary>
    public long SessionDurationMs { get; set; } = 18_000_000;

    /// <summary>
    /// How many more times the history writer tries a batch the store rejected (3 by default) before
    /// counting its rows as failed. Upstream requests are never retried on one account: failover
    /// moves to the next.
    /// </summary>
    public int RetryAttempts { get; set; } = 3;

    /// <summary>Wait before the history writer's first retry of a rejected batch (1 s by default).</summary>
    public int RetryDelayMs { get; set; } = 1000;

    /// <summary>Factor the wait grows by between retries of a rejected batch (2 by default).</summary>
    public double RetryBackoff { get; set; } = 2;

    /// <summary>Maximum bytes of a streamed response body kept for usage parsing and payload capture.</summary>
    public int StreamBodyMaxBytes { get; set; } = 262_144;

    /// <summary>Largest accepted proxy request body (32 MiB by default); larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Cool-down applied when an upstream reports a hard rate limit without a reset time.</summary>
    public int DefaultRateLimitCooldownMs { get; set; } = 60_000;

    /// <summary>How long to wait for upstream response headers before failing over.</summary>
    public int UpstreamTimeoutMs { get; set; } = 600_000;

    /// <summary>Requires <c>ccfk_</c> access keys on proxy routes.</summary>
    public bool RequireAccessKeys { get; set; }

    /// <summary>
    /// Token that opens the management API (and dashboard) to non-loopback clients, sent as
    /// <c>Authorization: Bearer &lt;token&gt;</c>. Unset by default: management is loopback-only.
    /// At least 16 characters; treat it like a password (environment variable or secret store).
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>
    /// Turns the loopback-only rule off for the management surface. Only for hosts that protect it
    /// some other way (their own middleware or network); prefer <see cref="AdminToken"/> or
    /// <c>RequireAuthorization</c> on the group returned by <c>MapCcflare</c>.
    /// </summary>
    public bool AllowRemoteManagement { get; set; }

    /// <summary>
    /// Host names, besides <c>localhost</c>, <c>127.0.0.1</c> and <c>[::1]</c>, that a request arriving
    /// from a loopback address may name in its <c>Host</c> header (for example the name a local reverse
    /// proxy forwards). Entries follow ASP.NET Core's host-filtering syntax: <c>example.com</c>,
    /// <c>*.example.com</c>, optionally with a port. Other names are refused, which stops DNS rebinding.
    /// </summary>
    public List<string> AllowedHosts { get; } = [];

    /// <summary>
    /// Browser origins (<c>https://app.example.com</c>) allowed to call the management API and the proxy.
    /// The management API always admits its own origin (the dashboard); any other origin, and any
    /// cross-site request without one, is refused unless listed here. Proxy requests that carry an
    /// <c>Origin</c> are refused unless it is listed, and listed origins get CORS answers.
    /// </summary>
    public List<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// Accepts account base URLs on link-local and cloud-metadata addresses (169.254.0.0/16,
    /// <c>fd00:ec2::254</c>) and numeric spellings of addresses. Off by default. Base URLs that point
    /// at this server's own listeners are refused either way.
    /// </summary>
    public bool AllowPrivateBaseUrls { get; set; }

    /// <summary>Forward without credentials when no account exists (ccflare's behaviour). Off by default: 503 instead.</summary>
    public bool PassthroughWhenNoAccounts { get; set; }

    /// <summary>Stores request and response headers and bodies (credentials masked).</summary>
    public bool CapturePayloads { get; set; } = true;

    /// <summary>
    /// Most bytes of each stored request or response body (1 MiB by default); the rest is cut and
    /// the payload says so. 0 stores no bodies. Usage and cost are read before the cut.
    /// </summary>
    public int MaxStoredPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Directory of the history journal: before the last bytes of a response leave, the facts of its
    /// history row are appended to a file here, and rows a crash kept from the store are written at the
    /// next start. The SQLite and LiteDB stores default it to their database's directory; other stores
    /// have none unless set (one directory per process). Ignored by the in-memory store.
    /// </summary>
    public string? HistoryJournalDirectory { get; set; }

    /// <summary>
    /// Forces each journal append to disk (<c>fdatasync</c>) so that acknowledged rows also survive a
    /// power loss or kernel crash. Off by default: appends reach the OS page cache, which survives the
    /// process being killed.
    /// </summary>
    public bool HistoryJournalFlushToDisk { get; set; }

    /// <summary>Most request rows the in-memory store keeps (100,000 by default); the oldest go first.</summary>
    public int InMemoryMaxRequests { get; set; } = 100_000;

    /// <summary>Most payload bytes the in-memory store keeps (256 MiB by default); the oldest payloads go first, their rows stay.</summary>
    public long InMemoryMaxPayloadBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Capacity of the background write queue.</summary>
    public int WriteQueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// Most request-body bytes the write queue may hold while they wait to be stored (64 MiB by
    /// default). Past it a finished request keeps its history row but not its payload, and the drop is
    /// counted; this bounds memory when large bodies arrive faster than the store can write them.
    /// 0 keeps no request bodies in the queue.
    /// </summary>
    public long WriteQueueMaxBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Largest batch written in one transaction.</summary>
    public int WriteBatchSize { get; set; } = 500;

    /// <summary>What the request path does when the write queue is full (wait briefly, then drop the payload, then the row).</summary>
    public WriteQueueFullMode WriteQueueFullMode { get; set; } = WriteQueueFullMode.WaitThenDrop;

    /// <summary>How long a finished request may wait for room in a full write queue (50 ms by default).</summary>
    public int WriteQueueFullWaitMs { get; set; } = 50;

    /// <summary>Days request and response payloads are kept (7 by default); changeable at run time via <c>/api/config/retention</c>.</summary>
    public int PayloadRetentionDays { get; set; } = 7;

    /// <summary>Days request rows are kept (30 by default); changeable at run time via <c>/api/config/retention</c>.</summary>
    public int RequestRetentionDays { get; set; } = 30;

    /// <summary>How often the background service applies retention (1 hour by default).</summary>
    public int RetentionIntervalMs { get; set; } = 3_600_000;

    /// <summary>
    /// Price overrides and additions, keyed by model id or id prefix (longest prefix wins; a prefix never
    /// covers a newer version: <c>my-model</c> prices <c>my-model-v2</c>, not <c>my-model-2</c>), for
    /// example <c>Ccflare:Pricing:my-model:Input=3</c>. Wins over the built-in list and <see cref="PricesFile"/>.
    /// </summary>
    public Dictionary<string, ModelPrice> Pricing { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Path of a JSON price list that extends (or, with <c>"replace": true</c>, replaces) the built-in
    /// one, in Ccflare's format or LiteLLM's <c>model_prices_and_context_window.json</c> format. Checked
    /// at start-up and reloaded when it changes; a changed file that cannot be used keeps the last good prices.
    /// </summary>
    public string? PricesFile { get; set; }

    /// <summary>Port reported by <c>GET /api/config</c>; informational.</summary>
    public int? Port { get; set; }

    /// <summary>OAuth tokens expiring within this margin are refreshed before use (5 minutes by default).</summary>
    public int TokenRefreshMarginMs { get; set; } = 300_000;

    /// <summary>How often the background refresher looks for OAuth tokens about to expire (1 minute by default).</summary>
    public int TokenRefreshIntervalMs { get; set; } = 60_000;

    /// <summary>How long a pending OAuth sign-in stays valid (10 minutes by default).</summary>
    public int OAuthSessionTtlMs { get; set; } = 600_000;

    /// <summary>How often accounts are reloaded from the store to pick up changes made by another process, such as the CLI (5 seconds by default; 0 disables).</summary>
    public int AccountReloadIntervalMs { get; set; } = 5_000;

    /// <summary>
    /// Directory for the Data Protection key ring that encrypts secrets at rest. When set, Ccflare
    /// persists its keys there under the application name <c>Ccflare</c> (unless the host configured
    /// a key repository itself); when null, the host's Data Protection defaults apply.
    /// </summary>
    public string? DataProtectionKeysPath { get; set; }

    /// <summary>
    /// Providers, keyed by name: overrides for the built-in ones (<c>anthropic</c>, <c>claude-code</c>,
    /// <c>openai</c>, <c>codex</c>), and new providers defined by a <see cref="ProviderOptions.Family"/>
    /// and a <see cref="ProviderOptions.BaseUrl"/> (for example <c>Ccflare:Providers:zai:Family=anthropic</c>).
    /// </summary>
    public Dictionary<string, ProviderOptions> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The per-account circuit breaker in front of each upstream account.</summary>
    public CircuitBreakerOptions CircuitBreaker { get; } = new();

    /// <summary>Headers to drop or mask in addition to Ccflare's built-in rules.</summary>
    public HeaderOptions Headers { get; } = new();

    /// <summary>Routing by the usage windows and priorities of accounts.</summary>
    public UsageOptions Usage { get; } = new();
}

/// <summary>Routing by the usage windows providers report and by account priorities.</summary>
public sealed class UsageOptions
{
    /// <summary>
    /// Whether a client session goes back to a more preferred (lower priority) account as soon as it
    /// is usable again (default true); when false a session stays on its account while that stays usable.
    /// </summary>
    public bool ReturnToPreferred { get; set; } = true;

    /// <summary>Utilization (0 to 1) of any window at which an account counts as near its limit (default 0.95).</summary>
    public double SwitchAtUtilization { get; set; } = 0.95;

    /// <summary>
    /// How often (seconds) the usage endpoint of each OAuth account's provider is asked for its usage
    /// windows (<see cref="ProviderOptions.UsageUrl"/>), besides reading them from every response.
    /// 0 (the default) turns polling off; otherwise from 10 to 86400 (a day).
    /// </summary>
    public int PollIntervalSeconds { get; set; }
}

/// <summary>
/// A circuit breaker per account (a Polly resilience pipeline keyed by account):
/// when an account's upstream keeps failing (connection errors, timeouts, 5xx) Ccflare stops
/// sending to it for <see cref="BreakDurationMs"/> and fails over at once. 429s are not failures
/// here: rate limits have their own handling. Retries stay in Ccflare's failover loop.
/// </summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>Whether the breaker is on (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Share of failed attempts in the sampling window that opens the breaker (0 to 1; default 0.8).</summary>
    public double FailureRatio { get; set; } = 0.8;

    /// <summary>Attempts needed in the window before the ratio counts (default 10).</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The sampling window (default 30 seconds).</summary>
    public int SamplingDurationMs { get; set; } = 30_000;

    /// <summary>How long an open breaker skips the account (default 30 seconds).</summary>
    public int BreakDurationMs { get; set; } = 30_000;
}

/// <summary>Extra header rules. Names are case-insensitive.</summary>
public sealed class HeaderOptions
{
    /// <summary>Client request headers never forwarded upstream (beyond credentials and hop-by-hop headers).</summary>
    public List<string> DropRequestHeaders { get; } = [];

    /// <summary>Upstream response headers never returned to the client.</summary>
    public List<string> DropResponseHeaders { get; } = [];

    /// <summary>Headers whose values are masked in stored payloads (beyond credentials and names containing token, secret or api-key).</summary>
    public List<string> MaskHeaders { get; } = [];
}

/// <summary>One provider: overrides for a built-in provider, or the definition of a new one.</summary>
public sealed class ProviderOptions
{
    /// <summary>
    /// <c>anthropic</c> (Messages API) or <c>openai</c> (Chat Completions and Responses). Setting it on
    /// a name that is not built in defines a new provider of that family.
    /// </summary>
    public string? Family { get; set; }

    /// <summary>Upstream base URL used by accounts that set none; required for a new provider.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>
    /// How a new provider's API keys are sent: <c>x-api-key</c> (the default for the anthropic family)
    /// or <c>bearer</c> (<c>Authorization: Bearer</c>, the default for the openai family).
    /// </summary>
    public string? Auth { get; set; }

    /// <summary>
    /// The endpoint polled for the usage windows of this provider's OAuth accounts when
    /// <see cref="UsageOptions.PollIntervalSeconds"/> is set. <c>claude-code</c> and <c>codex</c> have one by
    /// default; an empty value turns polling off for the provider. Other providers have none.
    /// </summary>
    public string? UsageUrl { get; set; }

    /// <summary>Headers added to every upstream request of this provider (for example an app name a gateway asks for).</summary>
    public Dictionary<string, string> ExtraHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>OAuth authorize endpoint.</summary>
    public string? AuthorizeUrl { get; set; }

    /// <summary>OAuth token endpoint.</summary>
    public string? TokenUrl { get; set; }

    /// <summary>OAuth client id.</summary>
    public string? ClientId { get; set; }

    /// <summary>OAuth redirect URI.</summary>
    public string? RedirectUri { get; set; }

    /// <summary>OAuth scopes, space separated.</summary>
    public string? Scopes { get; set; }
}
