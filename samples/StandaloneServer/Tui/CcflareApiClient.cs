using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ccflare.StandaloneServer.Tui;

/// <summary>
/// A small typed client for Ccflare's management API, used by the terminal UI. Every call
/// returns an <see cref="ApiResult{T}"/>: never throws for HTTP or connection failures, so a
/// screen can say "not available" (404) or show the server's error message.
/// </summary>
internal sealed class CcflareApiClient
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    private readonly HttpClient _http;

    /// <summary>Wraps <paramref name="http"/>, whose <see cref="HttpClient.BaseAddress"/> is the server root.</summary>
    public CcflareApiClient(HttpClient http, string? adminToken = null)
    {
        ArgumentNullException.ThrowIfNull(http.BaseAddress);
        _http = http;
        AdminToken = adminToken;
    }

    public Uri BaseAddress => _http.BaseAddress!;

    private string? AdminToken { get; }

    public Task<ApiResult<HealthInfo>> GetHealthAsync(CancellationToken ct) => GetAsync<HealthInfo>("health", ct);

    public Task<ApiResult<ConfigInfo>> GetConfigAsync(CancellationToken ct) => GetAsync<ConfigInfo>("api/config", ct);

    public Task<ApiResult<List<AccountInfo>>> GetAccountsAsync(CancellationToken ct) => GetAsync<List<AccountInfo>>("api/accounts", ct);

    public Task<ApiResult<List<ProviderInfo>>> GetProvidersAsync(CancellationToken ct) => GetAsync<List<ProviderInfo>>("api/providers", ct);

    public Task<ApiResult<MutationResult>> AddApiKeyAccountAsync(NewApiKeyAccount account, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Post, "api/accounts", account, ct);

    public Task<ApiResult<MutationResult>> PauseAccountAsync(string id, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Post, $"api/accounts/{Uri.EscapeDataString(id)}/pause", null, ct);

    public Task<ApiResult<MutationResult>> ResumeAccountAsync(string id, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Post, $"api/accounts/{Uri.EscapeDataString(id)}/resume", null, ct);

    public Task<ApiResult<MutationResult>> SetPriorityAsync(string id, int priority, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Patch, $"api/accounts/{Uri.EscapeDataString(id)}", new PriorityBody(priority), ct);

    public Task<ApiResult<MutationResult>> RemoveAccountAsync(string id, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Delete, $"api/accounts/{Uri.EscapeDataString(id)}", null, ct);

    public Task<ApiResult<List<RequestInfo>>> GetRequestsAsync(int limit, CancellationToken ct) =>
        GetAsync<List<RequestInfo>>(FormattableString.Invariant($"api/requests?limit={limit}"), ct);

    public Task<ApiResult<StatsInfo>> GetStatsAsync(CancellationToken ct) => GetAsync<StatsInfo>("api/stats", ct);

    public Task<ApiResult<AnalyticsInfo>> GetAnalyticsAsync(string range, CancellationToken ct) =>
        GetAsync<AnalyticsInfo>($"api/analytics?range={Uri.EscapeDataString(range)}", ct);

    public Task<ApiResult<List<LogEntry>>> GetLogsAsync(CancellationToken ct) => GetAsync<List<LogEntry>>("api/logs/history", ct);

    public Task<ApiResult<List<string>>> GetStrategiesAsync(CancellationToken ct) => GetAsync<List<string>>("api/strategies", ct);

    public Task<ApiResult<MutationResult>> SetStrategyAsync(string strategy, CancellationToken ct) =>
        SendAsync<MutationResult>(HttpMethod.Post, "api/config/strategy", new StrategyBody(strategy), ct);

    /// <summary>
    /// Opens <c>/api/requests/stream</c> (SSE). Returns null when the server has no such endpoint
    /// or cannot be reached, so the caller falls back to polling.
    /// </summary>
    public async Task<Stream?> OpenRequestStreamAsync(CancellationToken ct)
    {
        using var request = CreateRequest(HttpMethod.Get, "api/requests/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                response = null; // the stream now owns the connection
                return stream;
            }
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        finally
        {
            response?.Dispose();
        }
    }

    private Task<ApiResult<T>> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = CreateRequest(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        try
        {
            using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new ApiResult<T>(default, response.StatusCode, await ReadErrorAsync(response, ct).ConfigureAwait(false));
            }
            var value = await response.Content.ReadFromJsonAsync<T>(Json, ct).ConfigureAwait(false);
            return value is null
                ? new ApiResult<T>(default, response.StatusCode, "The server returned an empty answer.")
                : new ApiResult<T>(value, response.StatusCode, null);
        }
        catch (HttpRequestException ex)
        {
            return new ApiResult<T>(default, 0, $"Cannot reach {BaseAddress}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            return new ApiResult<T>(default, 0, $"Unexpected answer from {path}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new ApiResult<T>(default, 0, $"{path} timed out.");
        }
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseAddress, path));
        if (AdminToken is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return request;
    }

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString()!;
            }
        }
        catch (JsonException)
        {
        }
        return $"{(int)response.StatusCode} {response.ReasonPhrase}";
    }

    private sealed record StrategyBody(string Strategy);

    private sealed record PriorityBody(int Priority);
}

/// <summary>The outcome of one management API call.</summary>
internal sealed record ApiResult<T>(T? Value, HttpStatusCode Status, string? Error)
{
    public bool Ok => Error is null && Value is not null;

    /// <summary>The server does not have this endpoint (yet): a 404 on a collection route.</summary>
    public bool NotAvailable => Status == HttpStatusCode.NotFound;
}

internal sealed record HealthInfo(string? Status, int Accounts, DateTimeOffset? Timestamp, string? Strategy, List<string>? Providers);

internal sealed record ConfigInfo(string? LbStrategy, int? Port, long? SessionDurationMs);

internal sealed record AccountInfo(
    string Id,
    string Name,
    string? Provider,
    [property: JsonPropertyName("auth_method")] string? AuthMethod,
    [property: JsonPropertyName("base_url")] string? BaseUrl,
    long RequestCount,
    long TotalRequests,
    DateTimeOffset? LastUsed,
    DateTimeOffset? Created,
    int Weight,
    bool Paused,
    string? TokenStatus,
    DateTimeOffset? TokenExpiresAt,
    RateLimitStatusInfo? RateLimitStatus,
    DateTimeOffset? RateLimitReset,
    long? RateLimitRemaining,
    SessionInfo? SessionInfo,
    bool ProviderConfigured = true,
    int Priority = 0,
    UsageInfo? Usage = null,
    bool NearLimit = false,
    string? NearLimitWindow = null,
    double? Headroom = null);

/// <summary>An account's usage windows as the server last read them; utilization is a fraction 0..1.</summary>
internal sealed record UsageInfo(DateTimeOffset? UpdatedAt, string? Status, string? RepresentativeClaim, List<UsageWindowInfo>? Windows);

internal sealed record UsageWindowInfo(string Name, int? WindowMinutes, double? Utilization, DateTimeOffset? ResetsAt, string? Status);

internal sealed record ProviderInfo(string Name, string? DisplayName, string? Family, List<string>? AuthMethods, bool BuiltIn);

internal sealed record RateLimitStatusInfo(string? Code, bool IsLimited, DateTimeOffset? Until);

internal sealed record SessionInfo(bool Active, DateTimeOffset? StartedAt, long RequestCount);

/// <summary>Body of <c>POST /api/accounts</c> for an API-key account.</summary>
internal sealed record NewApiKeyAccount(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("api_key")] string ApiKey,
    [property: JsonPropertyName("base_url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BaseUrl,
    [property: JsonPropertyName("weight")] int Weight)
{
    [JsonPropertyName("auth_method")]
    public string AuthMethod => "api_key";

    /// <summary>Keeps the key out of logs and exception messages.</summary>
    public override string ToString() => $"NewApiKeyAccount {{ Name = {Name}, Provider = {Provider} }}";
}

internal sealed record MutationResult(bool Success, string? Message);

internal sealed record RequestInfo(
    string Id,
    DateTimeOffset Timestamp,
    string? Method,
    string? Path,
    string? Provider,
    string? AccountUsed,
    string? AccountName,
    int? StatusCode,
    bool Success,
    string? ErrorMessage,
    double? ResponseTimeMs,
    int FailoverAttempts,
    string? Model,
    long? InputTokens,
    long? OutputTokens,
    long? TotalTokens,
    decimal? CostUsd,
    double? TokensPerSecond);

internal sealed record StatsInfo(
    long TotalRequests,
    double SuccessRate,
    int ActiveAccounts,
    double AvgResponseTime,
    long TotalTokens,
    decimal TotalCostUsd,
    double? AvgTokensPerSecond,
    List<ModelCount>? TopModels);

internal sealed record ModelCount(string? Model, long Count);

internal sealed record AnalyticsInfo(
    AnalyticsMeta? Meta,
    StatsInfo? Totals,
    TokenBreakdown? TokenBreakdown,
    List<ModelCount>? ModelDistribution,
    List<AccountPerformance>? AccountPerformance,
    List<ModelCost>? CostByModel,
    List<ModelPerformance>? ModelPerformance);

internal sealed record AnalyticsMeta(string? Range, string? Bucket, bool Cumulative);

internal sealed record TokenBreakdown(long InputTokens, long CacheReadInputTokens, long CacheCreationInputTokens, long OutputTokens);

internal sealed record AccountPerformance(string? Name, long Requests, double SuccessRate);

internal sealed record ModelCost(string? Model, decimal CostUsd, long Requests, long TotalTokens);

internal sealed record ModelPerformance(string? Model, double AvgResponseTime, double P95ResponseTime, double ErrorRate, double? AvgTokensPerSecond);

/// <summary>One entry of <c>/api/logs/history</c>: ccflare's <c>{ts, level, msg}</c> (ts in Unix milliseconds) and Ccflare's <c>component</c>.</summary>
internal sealed record LogEntry(JsonElement Ts, string? Level, string? Msg, string? Component);
