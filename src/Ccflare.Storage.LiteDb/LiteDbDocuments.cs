using LiteDB;

namespace Ccflare.Storage.LiteDb;

/// <summary>
/// Hand-written mapping between the public records and LiteDB documents. Instants are Unix epoch
/// milliseconds (Int64), like the SQLite store; headers are arrays of <c>[name, value]</c> pairs so
/// header names never become document keys.
/// </summary>
internal static class LiteDbDocuments
{
    public static BsonDocument FromAccount(Account account) => new()
    {
        ["_id"] = account.Id,
        ["Name"] = account.Name,
        ["Provider"] = account.Provider,
        ["AuthMethod"] = account.AuthMethod,
        ["BaseUrl"] = Str(account.BaseUrl),
        ["ApiKey"] = Str(account.ApiKey),
        ["RefreshToken"] = Str(account.RefreshToken),
        ["AccessToken"] = Str(account.AccessToken),
        ["ExpiresAt"] = Ms(account.ExpiresAt),
        ["CreatedAt"] = account.CreatedAt.ToUnixTimeMilliseconds(),
        ["LastUsed"] = Ms(account.LastUsed),
        ["RequestCount"] = account.RequestCount,
        ["TotalRequests"] = account.TotalRequests,
        ["Weight"] = account.Weight,
        ["RateLimitedUntil"] = Ms(account.RateLimitedUntil),
        ["SessionStart"] = Ms(account.SessionStart),
        ["SessionRequestCount"] = account.SessionRequestCount,
        ["Paused"] = account.Paused,
        ["RateLimitReset"] = Ms(account.RateLimitReset),
        ["RateLimitStatus"] = Str(account.RateLimitStatus),
        ["RateLimitRemaining"] = Long(account.RateLimitRemaining),
        ["TokenStatus"] = Str(account.TokenStatus),
        ["TokenStatusReason"] = Str(account.TokenStatusReason),
        ["Priority"] = account.Priority,
        ["Usage"] = account.Usage is { } usage ? AccountUsage.Serialize(usage) : BsonValue.Null,
    };

    public static Account ToAccount(BsonDocument d) => new()
    {
        Id = d["_id"].AsString,
        Name = d["Name"].AsString,
        Provider = d["Provider"].AsString,
        AuthMethod = d["AuthMethod"].AsString,
        BaseUrl = Str(d["BaseUrl"]),
        ApiKey = Str(d["ApiKey"]),
        RefreshToken = Str(d["RefreshToken"]),
        AccessToken = Str(d["AccessToken"]),
        ExpiresAt = Instant(d["ExpiresAt"]),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(d["CreatedAt"].AsInt64),
        LastUsed = Instant(d["LastUsed"]),
        RequestCount = d["RequestCount"].AsInt64,
        TotalRequests = d["TotalRequests"].AsInt64,
        Weight = d["Weight"].AsInt32,
        RateLimitedUntil = Instant(d["RateLimitedUntil"]),
        SessionStart = Instant(d["SessionStart"]),
        SessionRequestCount = d["SessionRequestCount"].AsInt64,
        Paused = d["Paused"].AsBoolean,
        RateLimitReset = Instant(d["RateLimitReset"]),
        RateLimitStatus = Str(d["RateLimitStatus"]),
        RateLimitRemaining = Long(d["RateLimitRemaining"]),
        TokenStatus = Str(d["TokenStatus"]),
        TokenStatusReason = Str(d["TokenStatusReason"]),
        // Documents written before priorities and usage existed have neither field.
        Priority = d["Priority"].IsNumber ? d["Priority"].AsInt32 : 0,
        Usage = AccountUsage.Deserialize(Str(d["Usage"])),
    };

    public static BsonDocument FromRequest(RequestRecord r) => new()
    {
        ["_id"] = r.Id,
        ["Timestamp"] = r.Timestamp.ToUnixTimeMilliseconds(),
        ["Method"] = r.Method,
        ["Path"] = r.Path,
        ["Provider"] = Str(r.Provider),
        ["UpstreamPath"] = Str(r.UpstreamPath),
        ["AccountUsed"] = Str(r.AccountUsed),
        ["AccountName"] = Str(r.AccountName),
        ["StatusCode"] = r.StatusCode is { } status ? new BsonValue(status) : BsonValue.Null,
        ["Success"] = r.Success,
        ["ErrorMessage"] = Str(r.ErrorMessage),
        ["ResponseTimeMs"] = Double(r.ResponseTimeMs),
        ["FailoverAttempts"] = r.FailoverAttempts,
        ["Model"] = Str(r.Model),
        ["PromptTokens"] = Long(r.PromptTokens),
        ["CompletionTokens"] = Long(r.CompletionTokens),
        ["TotalTokens"] = Long(r.TotalTokens),
        ["CostUsd"] = r.CostUsd is { } cost ? new BsonValue(cost) : BsonValue.Null,
        ["OutputTokensPerSecond"] = Double(r.OutputTokensPerSecond),
        ["InputTokens"] = Long(r.InputTokens),
        ["CacheReadInputTokens"] = Long(r.CacheReadInputTokens),
        ["CacheCreationInputTokens"] = Long(r.CacheCreationInputTokens),
        ["OutputTokens"] = Long(r.OutputTokens),
        ["ReasoningTokens"] = Long(r.ReasoningTokens),
        ["ResponseId"] = Str(r.ResponseId),
        ["PreviousResponseId"] = Str(r.PreviousResponseId),
        ["ResponseChainId"] = Str(r.ResponseChainId),
        ["ClientSessionId"] = Str(r.ClientSessionId),
        ["TtftMs"] = Double(r.TtftMs),
        ["ProxyOverheadMs"] = Double(r.ProxyOverheadMs),
        ["UpstreamTtfbMs"] = Double(r.UpstreamTtfbMs),
        ["StreamingDurationMs"] = Double(r.StreamingDurationMs),
        ["UserId"] = Str(r.UserId),
        ["CostEstimated"] = r.CostEstimated,
    };

    public static RequestRecord ToRequest(BsonDocument d) => new()
    {
        Id = d["_id"].AsString,
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(d["Timestamp"].AsInt64),
        Method = d["Method"].AsString,
        Path = d["Path"].AsString,
        Provider = Str(d["Provider"]),
        UpstreamPath = Str(d["UpstreamPath"]),
        AccountUsed = Str(d["AccountUsed"]),
        AccountName = Str(d["AccountName"]),
        StatusCode = d["StatusCode"].IsNull ? null : d["StatusCode"].AsInt32,
        ErrorMessage = Str(d["ErrorMessage"]),
        ResponseTimeMs = Double(d["ResponseTimeMs"]),
        FailoverAttempts = d["FailoverAttempts"].AsInt32,
        Model = Str(d["Model"]),
        PromptTokens = Long(d["PromptTokens"]),
        CompletionTokens = Long(d["CompletionTokens"]),
        TotalTokens = Long(d["TotalTokens"]),
        CostUsd = d["CostUsd"].IsNull ? null : d["CostUsd"].AsDecimal,
        OutputTokensPerSecond = Double(d["OutputTokensPerSecond"]),
        InputTokens = Long(d["InputTokens"]),
        CacheReadInputTokens = Long(d["CacheReadInputTokens"]),
        CacheCreationInputTokens = Long(d["CacheCreationInputTokens"]),
        OutputTokens = Long(d["OutputTokens"]),
        ReasoningTokens = Long(d["ReasoningTokens"]),
        ResponseId = Str(d["ResponseId"]),
        PreviousResponseId = Str(d["PreviousResponseId"]),
        ResponseChainId = Str(d["ResponseChainId"]),
        ClientSessionId = Str(d["ClientSessionId"]),
        TtftMs = Double(d["TtftMs"]),
        ProxyOverheadMs = Double(d["ProxyOverheadMs"]),
        UpstreamTtfbMs = Double(d["UpstreamTtfbMs"]),
        StreamingDurationMs = Double(d["StreamingDurationMs"]),
        UserId = Str(d["UserId"]),
        // Documents written before the field existed lack it: their costs were never estimates.
        CostEstimated = d.TryGetValue("CostEstimated", out var estimated) && estimated.IsBoolean && estimated.AsBoolean,
    };

    public static BsonDocument FromPayload(string id, DateTimeOffset timestamp, RequestPayload p)
    {
        var attempted = new BsonArray();
        foreach (var accountId in p.AccountsAttempted)
        {
            attempted.Add(accountId);
        }
        return new BsonDocument
        {
            ["_id"] = id,
            ["Timestamp"] = timestamp.ToUnixTimeMilliseconds(),
            ["RequestHeaders"] = FromHeaders(p.RequestHeaders),
            ["RequestBody"] = p.RequestBody is { } requestBody ? new BsonValue(requestBody) : BsonValue.Null,
            ["RequestBodyTruncated"] = p.RequestBodyTruncated,
            ["ResponseStatus"] = p.ResponseStatus is { } status ? new BsonValue(status) : BsonValue.Null,
            ["ResponseHeaders"] = FromHeaders(p.ResponseHeaders),
            ["ResponseBody"] = p.ResponseBody is { } responseBody ? new BsonValue(responseBody) : BsonValue.Null,
            ["ResponseBodyTruncated"] = p.ResponseBodyTruncated,
            ["RateLimited"] = p.RateLimited,
            ["AccountsAttempted"] = attempted,
        };
    }

    public static RequestPayload ToPayload(BsonDocument d)
    {
        var attempted = new List<string>();
        foreach (var value in d["AccountsAttempted"].AsArray)
        {
            attempted.Add(value.AsString);
        }
        return new RequestPayload
        {
            RequestHeaders = ToHeaders(d["RequestHeaders"]),
            RequestBody = d["RequestBody"].IsNull ? null : d["RequestBody"].AsBinary,
            // Documents written before the flag existed have no such field (a missing field reads as null).
            RequestBodyTruncated = d["RequestBodyTruncated"].IsBoolean && d["RequestBodyTruncated"].AsBoolean,
            ResponseStatus = d["ResponseStatus"].IsNull ? null : d["ResponseStatus"].AsInt32,
            ResponseHeaders = ToHeaders(d["ResponseHeaders"]),
            ResponseBody = d["ResponseBody"].IsNull ? null : d["ResponseBody"].AsBinary,
            ResponseBodyTruncated = d["ResponseBodyTruncated"].AsBoolean,
            RateLimited = d["RateLimited"].AsBoolean,
            AccountsAttempted = attempted,
        };
    }

    public static BsonDocument FromAuthSession(AuthSession s) => new()
    {
        ["_id"] = s.Id,
        ["Provider"] = s.Provider,
        ["AuthMethod"] = s.AuthMethod,
        ["AccountName"] = s.AccountName,
        ["StateJson"] = s.StateJson,
        ["CreatedAt"] = s.CreatedAt.ToUnixTimeMilliseconds(),
        ["ExpiresAt"] = s.ExpiresAt.ToUnixTimeMilliseconds(),
    };

    public static AuthSession ToAuthSession(BsonDocument d) => new()
    {
        Id = d["_id"].AsString,
        Provider = d["Provider"].AsString,
        AuthMethod = d["AuthMethod"].AsString,
        AccountName = d["AccountName"].AsString,
        StateJson = d["StateJson"].AsString,
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(d["CreatedAt"].AsInt64),
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(d["ExpiresAt"].AsInt64),
    };

    public static BsonDocument FromUser(AccessKeyUser u) => new()
    {
        ["_id"] = u.Id,
        ["Name"] = u.Name,
        ["AccessKeyHash"] = u.AccessKeyHash,
        ["CreatedAt"] = u.CreatedAt.ToUnixTimeMilliseconds(),
    };

    public static AccessKeyUser ToUser(BsonDocument d) => new()
    {
        Id = d["_id"].AsString,
        Name = d["Name"].AsString,
        AccessKeyHash = d["AccessKeyHash"].AsString,
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(d["CreatedAt"].AsInt64),
    };

    private static BsonArray FromHeaders(IReadOnlyDictionary<string, string> headers)
    {
        var array = new BsonArray();
        foreach (var (name, value) in headers)
        {
            array.Add(new BsonArray { name, value });
        }
        return array;
    }

    private static Dictionary<string, string> ToHeaders(BsonValue value)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in value.AsArray)
        {
            var entry = pair.AsArray;
            headers[entry[0].AsString] = entry[1].AsString;
        }
        return headers;
    }

    private static BsonValue Str(string? value) => value is null ? BsonValue.Null : new BsonValue(value);

    private static BsonValue Ms(DateTimeOffset? value) => value is { } instant ? new BsonValue(instant.ToUnixTimeMilliseconds()) : BsonValue.Null;

    private static BsonValue Long(long? value) => value is { } v ? new BsonValue(v) : BsonValue.Null;

    private static BsonValue Double(double? value) => value is { } v ? new BsonValue(v) : BsonValue.Null;

    private static string? Str(BsonValue value) => value.IsNull ? null : value.AsString;

    private static DateTimeOffset? Instant(BsonValue value) => value.IsNull ? null : DateTimeOffset.FromUnixTimeMilliseconds(value.AsInt64);

    private static long? Long(BsonValue value) => value.IsNull ? null : value.AsInt64;

    private static double? Double(BsonValue value) => value.IsNull ? null : value.AsDouble;
}
