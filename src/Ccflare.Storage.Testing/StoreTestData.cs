using System.Text;

namespace Ccflare.Storage.Testing;

/// <summary>Records and accounts with every field set to a distinctive value.</summary>
public static class StoreTestData
{
    /// <summary>A fixed origin; every instant in the tests is a whole number of milliseconds from it.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Account FullAccount(string id = "acc-full", string name = "full") => new()
    {
        Id = id,
        Name = name,
        Provider = "claude-code",
        AuthMethod = AccountAuthMethods.OAuth,
        BaseUrl = "https://example.test/anthropic",
        ApiKey = "sk-ant-api-key",
        RefreshToken = "refresh-token",
        AccessToken = "access-token",
        // A non-UTC offset and millisecond precision: the instant must survive, whatever the offset.
        ExpiresAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, 891, TimeSpan.FromHours(2)),
        CreatedAt = T0.AddMilliseconds(123),
        LastUsed = T0.AddDays(1).AddMilliseconds(456),
        RequestCount = 42,
        TotalRequests = 4_200_000_000L,
        Weight = 7,
        RateLimitedUntil = T0.AddHours(5).AddMilliseconds(1),
        SessionStart = T0.AddHours(4).AddMilliseconds(999),
        SessionRequestCount = 17,
        Paused = true,
        RateLimitReset = T0.AddHours(6).AddMilliseconds(2),
        RateLimitStatus = "allowed_warning",
        RateLimitRemaining = 0,
        TokenStatus = "refresh_failed",
        TokenStatusReason = "invalid_grant",
        Priority = 3,
        Usage = new AccountUsage
        {
            UpdatedAt = T0.AddHours(4).AddMilliseconds(5),
            Status = "allowed_warning",
            ResetsAt = T0.AddHours(5),
            RepresentativeClaim = "five_hour",
            Windows =
            [
                new UsageWindow("five_hour", 300, 0.97, T0.AddHours(5), "allowed_warning"),
                new UsageWindow("seven_day", 10080, 0.4, T0.AddDays(6), "allowed"),
            ],
            Overage = new UsageOverage("rejected", null),
            FallbackPercentage = 0.5,
        },
    };

    public static Account MinimalAccount(string id, string name, DateTimeOffset createdAt) => new()
    {
        Id = id,
        Name = name,
        Provider = "anthropic",
        CreatedAt = createdAt,
    };

    public static RequestRecord FullRecord(string id = "req-full") => new()
    {
        Id = id,
        Timestamp = T0.AddMinutes(30).AddMilliseconds(321),
        Method = "POST",
        Path = "/v1/anthropic/v1/messages",
        Provider = "anthropic",
        UpstreamPath = "/v1/messages",
        AccountUsed = "acc-1",
        AccountName = "primary",
        StatusCode = 429,
        ErrorMessage = "rate limited",
        ResponseTimeMs = 1234.5,
        FailoverAttempts = 2,
        Model = "claude-sonnet-4-5",
        PromptTokens = 1500,
        CompletionTokens = 250,
        TotalTokens = 1750,
        CostUsd = 0.012345m,
        CostEstimated = true,
        OutputTokensPerSecond = 87.25,
        InputTokens = 1000,
        CacheReadInputTokens = 400,
        CacheCreationInputTokens = 100,
        OutputTokens = 250,
        ReasoningTokens = 12,
        ResponseId = "msg_01",
        PreviousResponseId = "resp_00",
        ResponseChainId = "resp_chain",
        ClientSessionId = "session-abc",
        TtftMs = 310.25,
        ProxyOverheadMs = 1.5,
        UpstreamTtfbMs = 300.75,
        StreamingDurationMs = 900.125,
        UserId = "user-1",
        Payload = new RequestPayload
        {
            RequestHeaders = new Dictionary<string, string>
            {
                ["content-type"] = "application/json",
                ["x-api-key"] = "sk-ant-...abcd",
                ["anthropic-version"] = "2023-06-01",
            },
            RequestBody = Encoding.UTF8.GetBytes("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"héllo"}]}"""),
            ResponseStatus = 429,
            ResponseHeaders = new Dictionary<string, string>
            {
                ["content-type"] = "text/event-stream",
                ["retry-after"] = "30",
            },
            ResponseBody = [0, 1, 2, 254, 255, (byte)'\n', 0],
            ResponseBodyTruncated = true,
            RequestBodyTruncated = true,
            RateLimited = true,
            AccountsAttempted = ["acc-0", "acc-9", "acc-1"],
        },
    };

    public static RequestRecord MinimalRecord(string id, DateTimeOffset timestamp, int? statusCode = 200) => new()
    {
        Id = id,
        Timestamp = timestamp,
        Method = "POST",
        Path = "/v1/openai/v1/chat/completions",
        StatusCode = statusCode,
    };

    /// <summary>A realistic record with a small payload, as the write path produces.</summary>
    public static RequestRecord BatchRecord(string id, DateTimeOffset timestamp, bool withPayload = true) => new()
    {
        Id = id,
        Timestamp = timestamp,
        Method = "POST",
        Path = "/v1/anthropic/v1/messages",
        Provider = "anthropic",
        UpstreamPath = "/v1/messages",
        AccountUsed = "acc-1",
        AccountName = "primary",
        StatusCode = 200,
        ResponseTimeMs = 812.5,
        Model = "claude-haiku-4-5",
        InputTokens = 120,
        OutputTokens = 40,
        TotalTokens = 160,
        CostUsd = 0.0004m,
        Payload = withPayload
            ? new RequestPayload
            {
                RequestHeaders = new Dictionary<string, string> { ["content-type"] = "application/json" },
                RequestBody = Encoding.UTF8.GetBytes("""{"model":"claude-haiku-4-5","max_tokens":64}"""),
                ResponseStatus = 200,
                ResponseHeaders = new Dictionary<string, string> { ["content-type"] = "application/json" },
                ResponseBody = Encoding.UTF8.GetBytes("""{"id":"msg","content":[]}"""),
                AccountsAttempted = ["acc-1"],
            }
            : null,
    };

    public static void AssertPayloadEqual(RequestPayload? expected, RequestPayload? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(Sorted(expected.RequestHeaders), Sorted(actual.RequestHeaders));
        Assert.Equal(expected.RequestBody, actual.RequestBody);
        Assert.Equal(expected.ResponseStatus, actual.ResponseStatus);
        Assert.Equal(Sorted(expected.ResponseHeaders), Sorted(actual.ResponseHeaders));
        Assert.Equal(expected.ResponseBody, actual.ResponseBody);
        Assert.Equal(expected.ResponseBodyTruncated, actual.ResponseBodyTruncated);
        Assert.Equal(expected.RequestBodyTruncated, actual.RequestBodyTruncated);
        Assert.Equal(expected.RateLimited, actual.RateLimited);
        Assert.Equal(expected.AccountsAttempted, actual.AccountsAttempted);
    }

    /// <summary>Compares every column and the payload.</summary>
    public static void AssertRecordEqual(RequestRecord expected, RequestRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Payload = null }, actual with { Payload = null });
        AssertPayloadEqual(expected.Payload, actual.Payload);
    }

    private static List<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string> headers) =>
        [.. headers.OrderBy(h => h.Key, StringComparer.Ordinal)];
}
