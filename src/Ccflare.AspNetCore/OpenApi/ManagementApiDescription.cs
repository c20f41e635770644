using Ccflare.Analytics;
using Ccflare.Http;
using Ccflare.Logging;
using Ccflare.Management;
using Ccflare.OAuth;
using Ccflare.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.OpenApi;

/// <summary>
/// What the management endpoints accept and return, for ApiExplorer and so for OpenAPI. The handlers
/// read their bodies themselves (to answer bad JSON with Ccflare's error body) and return
/// <see cref="IResult"/>, so nothing can be inferred: this table names the DTO types they serialize.
/// A management endpoint missing here is still listed, but the OpenAPI tests fail on it.
/// </summary>
internal static class ManagementApiDescription
{
    private const string Json = "application/json";
    private const string EventStream = "text/event-stream";

    private static readonly QueryParameter Limit = new("limit", "how many to return, 1 to 1000");
    private static readonly QueryParameter ClientSession = new("clientSessionId", "only the requests of this client session (Claude Code's or Codex's session id)");

    private static readonly OperationDescription[] Operations =
    [
        // Accounts
        new("GET", "/api/accounts", "Accounts", "Lists the accounts (never their secrets)", Ok<List<AccountResponse>>()),
        new("POST", "/api/accounts", "Accounts", "Adds an API-key account, or an OAuth account from existing tokens", [Response<AccountChangeResponse>(StatusCodes.Status201Created), .. Errors(400, 409)], typeof(CreateAccountRequest)),
        new("PATCH", "/api/accounts/{id}", "Accounts", "Changes an account's name, base_url, weight or priority", [Response<AccountChangeResponse>(), .. Errors(400, 404, 409)], typeof(UpdateAccountRequest)),
        new("DELETE", "/api/accounts/{id}", "Accounts", "Removes an account", [Response<ManagementJson.SuccessBody>(), .. Errors(404)]),
        new("POST", "/api/accounts/{id}/pause", "Accounts", "Takes an account out of rotation", [Response<ManagementJson.SuccessBody>(), .. Errors(400, 404)]),
        new("POST", "/api/accounts/{id}/resume", "Accounts", "Puts a paused account back into rotation", [Response<ManagementJson.SuccessBody>(), .. Errors(400, 404)]),
        new("POST", "/api/accounts/{id}/rename", "Accounts", "Renames an account", [Response<AccountRenameResponse>(), .. Errors(400, 404, 409)], typeof(RenameAccountRequest)),

        // Configuration
        new("GET", "/api/providers", "Configuration", "Lists the providers this server serves", Ok<List<ProviderEndpoints.ProviderResponse>>()),
        new("GET", "/api/strategies", "Configuration", "Lists the load-balancing strategies", Ok<List<string>>()),
        new("GET", "/api/config", "Configuration", "Reads the runtime configuration", Ok<ConfigEndpoints.ConfigResponse>()),
        new("PATCH", "/api/config", "Configuration", "Changes the session duration", [Response<ConfigEndpoints.ConfigResponse>(), .. Errors(400)], typeof(ConfigEndpoints.ConfigUpdateRequest)),
        new("GET", "/api/config/strategy", "Configuration", "Reads the current strategy", Ok<StrategyResponse>()),
        new("POST", "/api/config/strategy", "Configuration", "Selects the strategy", [Response<StrategyChangeResponse>(), .. Errors(400)], typeof(ConfigEndpoints.StrategyRequest)),
        new("GET", "/api/config/retention", "Configuration", "Reads how long requests and payloads are kept", Ok<MaintenanceEndpoints.RetentionBody>()),
        new("POST", "/api/config/retention", "Configuration", "Changes how long requests and payloads are kept", [Response<MaintenanceEndpoints.RetentionBody>(), .. Errors(400)], typeof(MaintenanceEndpoints.RetentionBody)),

        // Maintenance
        new("POST", "/api/maintenance/cleanup", "Maintenance", "Applies the retention now", [Response<CleanupResponse>(), .. Errors(400)]),
        new("POST", "/api/maintenance/compact", "Maintenance", "Compacts the store", [Response<CompactResponse>(), .. Errors(400)]),

        // History
        new("GET", "/api/requests", "History", "The most recent requests, newest first", [Response<List<RequestSummaryResponse>>(), .. Errors(400)], Query: [Limit, ClientSession]),
        new("GET", "/api/requests/detail", "History", "The most recent requests with their captured payloads", [Response<List<RequestDetailResponse>>(), .. Errors(400)], Query: [Limit, ClientSession]),
        new("GET", "/api/requests/{id}/conversation", "History", "The request's conversation: every request of its response chain with payloads", [Response<List<RequestDetailResponse>>(), .. Errors(404)]),
        new("GET", "/api/requests/{id}", "History", "One request with its captured payload", [Response<RequestDetailResponse>(), .. Errors(404)]),
        new("GET", "/api/requests/stream", "History", "Server-sent events: each data line is one request event as JSON", [new(StatusCodes.Status200OK, typeof(RequestLiveEventDescription), EventStream)]),
        new("GET", "/api/stats", "History", "Totals over the whole history", Ok<StatsEndpoints.StatsResponse>()),
        new("POST", "/api/stats/reset", "History", "Zeroes the account counters and deletes the request history", [Response<StatsResetResponse>(), .. Errors(400)]),
        new("GET", "/api/analytics", "History", "Time series and breakdowns over a time range", [Response<AnalyticsResult>(), .. Errors(400)],
            Query:
            [
                new("range", "1h, 6h, 24h (default), 7d or 30d"),
                new("status", "all (default), success or error"),
                new("mode", "normal (default) or cumulative"),
                new("modelBreakdown", "true: one time series point per model and bucket"),
                new("accounts", "comma-separated account names to keep"),
                new("models", "comma-separated models to keep"),
            ]),

        new("GET", "/api/analytics/by-user", "History", "Spending per access-key user over a time range", [Response<StatsEndpoints.SpendingByUser>(), .. Errors(400)], Query: [new("range", "1h, 6h, 24h (default), 7d or 30d")]),

        // Logs
        new("GET", "/api/logs/history", "Logs", "The most recent log entries", [Response<List<LogEntry>>(), .. Errors(400)], Query: [Limit]),
        new("GET", "/api/logs/stream", "Logs", "Server-sent events: each data line is one log entry as JSON", [new(StatusCodes.Status200OK, typeof(LogEntry), EventStream)]),

        // Access-key users
        new("GET", "/api/users", "Users", "Lists the access-key users (404 while access keys are off)", [Response<List<UserEndpoints.UserResponse>>(), .. Errors(404)]),
        new("POST", "/api/users", "Users", "Adds a user and returns its access key, shown only once", [Response<UserEndpoints.CreatedUserResponse>(StatusCodes.Status201Created), .. Errors(400, 404, 409)], typeof(UserEndpoints.CreateUserRequest)),
        new("DELETE", "/api/users/{id}", "Users", "Removes a user", [Response<ManagementJson.SuccessBody>(), .. Errors(404)]),

        // OAuth sign-in
        new("POST", "/api/auth/{provider}/init", "OAuth", "Starts an OAuth sign-in for a subscription account", [Response<OAuthInitResponse>(), .. Errors(400, 404, 409)], typeof(OAuthEndpoints.InitRequest)),
        new("POST", "/api/auth/{provider}/complete", "OAuth", "Completes a sign-in with the code the provider showed", [Response<OAuthCompleteResponse>(), .. Errors(400, 404, 409)], typeof(OAuthEndpoints.CompleteRequest)),
        new("GET", "/api/auth/session/{id}/status", "OAuth", "The state of a sign-in", [Response<OAuthStatusResponse>(), .. Errors(404)]),

        // Health
        new("GET", "/health", "Health", "Liveness and a count of accounts; no secrets", Ok<ConfigEndpoints.HealthResponse>()),
    ];

    /// <summary>The management operations as (method, path below the mount prefix).</summary>
    public static IEnumerable<(string Method, string Path)> All => Operations.Select(o => (o.Method, o.Path));

    /// <summary>Adds each endpoint's description to the endpoints of <paramref name="group"/> (mounted at <paramref name="groupPath"/>, e.g. <c>/api</c>).</summary>
    public static void Describe(IEndpointConventionBuilder group, string groupPath)
    {
        group.Add(endpoint =>
        {
            if (endpoint is not RouteEndpointBuilder route || route.RoutePattern.RawText is not { } pattern)
            {
                return;
            }
            var method = endpoint.Metadata.OfType<IHttpMethodMetadata>().LastOrDefault()?.HttpMethods is [var single] ? single : null;
            var operation = Find(method, pattern, groupPath);
            if (operation is null)
            {
                return;
            }
            endpoint.Metadata.Add(operation);
            endpoint.Metadata.Add(new TagsAttribute(operation.Tag));
            endpoint.Metadata.Add(new EndpointSummaryAttribute(operation.Summary));
            // The request body is described by the document's operation transformer, not with AcceptsMetadata:
            // routing would act on that and send other content types to the fallback (404) instead of the handler's 415.
            foreach (var response in operation.Responses)
            {
                endpoint.Metadata.Add(new ProducesResponseTypeMetadata(response.StatusCode, response.Type, [response.ContentType]));
            }
        });
    }

    private static OperationDescription? Find(string? method, string pattern, string groupPath)
    {
        foreach (var operation in Operations)
        {
            if (string.Equals(operation.Method, method, StringComparison.OrdinalIgnoreCase)
                && operation.Path.StartsWith(groupPath, StringComparison.Ordinal)
                && pattern.TrimEnd('/').EndsWith(operation.Path, StringComparison.Ordinal))
            {
                return operation;
            }
        }
        return null;
    }

    private static ResponseDescription Response<T>(int statusCode = StatusCodes.Status200OK) => new(statusCode, typeof(T), Json);

    private static ResponseDescription[] Ok<T>() => [Response<T>()];

    private static IEnumerable<ResponseDescription> Errors(params int[] statusCodes) =>
        statusCodes.Select(code => new ResponseDescription(code, typeof(JsonErrors.ErrorBody), Json));
}

/// <summary>One described management operation; also the endpoint metadata that marks it as Ccflare's.</summary>
internal sealed record OperationDescription(
    string Method, string Path, string Tag, string Summary, IReadOnlyList<ResponseDescription> Responses, Type? Request = null, IReadOnlyList<QueryParameter>? Query = null);

internal sealed record ResponseDescription(int StatusCode, Type Type, string ContentType);

internal sealed record QueryParameter(string Name, string Description);

// The bodies the management endpoints build inline, named for the document. The OpenAPI tests compare
// each with what its endpoint really returns.

internal sealed record AccountChangeResponse(bool Success, string Message, AccountResponse Account, AccountIdData? Data = null);

internal sealed record AccountIdData(string AccountId);

internal sealed record AccountRenameResponse(bool Success, string Message, string NewName, AccountRenameData Data);

internal sealed record AccountRenameData(string NewName);

internal sealed record StrategyResponse(string Strategy);

internal sealed record StrategyChangeResponse(bool Success, string Message, string Strategy, StrategyResponse Data);

internal sealed record CleanupResponse(
    bool Success, string Message, CleanupData Data, long RemovedRequests, long RemovedPayloads, DateTimeOffset RequestCutoff, DateTimeOffset PayloadCutoff);

internal sealed record CleanupData(long RemovedRequests, long RemovedPayloads, string CutoffIso);

internal sealed record CompactResponse(bool Success, string Message, double ElapsedMs);

internal sealed record StatsResetResponse(bool Success, string Message, long RemovedRequests);

internal sealed record OAuthInitResponse(bool Success, string Message, OAuthInitData Data);

internal sealed record OAuthInitData(string AuthUrl, string SessionId, string Provider, DateTimeOffset ExpiresAt);

internal sealed record OAuthCompleteResponse(bool Success, string Message, OAuthCompleteData Data);

internal sealed record OAuthCompleteData(string Provider, string AccountId, string Name);

internal sealed record OAuthStatusResponse(bool Success, OAuthStatusData Data);

internal sealed record OAuthStatusData(string SessionId, string Provider, string Name, string Status, DateTimeOffset ExpiresAt, string? AccountId);

/// <summary>
/// An event of <c>/api/requests/stream</c>: <c>start</c> events carry the request line, later events the
/// request's summary in <c>payload</c>.
/// </summary>
internal sealed record RequestLiveEventDescription(
    string Type, string Id, DateTimeOffset? Timestamp, string? Method, string? Path, string? Provider, RequestSummaryResponse? Payload);
