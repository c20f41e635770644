namespace Ccflare.Tests.Analytics;

/// <summary>A known set of request rows with hand-computed analytics (see the tests for the numbers).</summary>
internal static class AnalyticsDataSet
{
    public static readonly DateTimeOffset Now = new(2026, 1, 10, 12, 0, 0, TimeSpan.Zero);

    public static IReadOnlyList<RequestRecord> Rows(bool gammaNameInRecord = false) =>
    [
        Row("r1", "11:10:00", "a1", "alpha", "claude-sonnet-4-5", 200, 100, input: 100, cacheRead: 300, cacheCreation: 100, output: 50, cost: 0.01m, tps: 10),
        Row("r2", "11:10:30", "a1", "alpha", "claude-sonnet-4-5", 500, 300),
        Row("r3", "11:30:00", "b1", "beta", "gpt-5", 200, 200, input: 200, cacheRead: 0, output: 100, cost: 0.02m, tps: 20),
        Row("r4", "11:30:45", "b1", "beta", "gpt-5", 200, 400, input: 100, cacheRead: 100, output: 20, cost: 0.005m, tps: 30),
        Row("r5", "11:59:00", "a1", "alpha", "gpt-5", 429, 50, user: "u1"),
        Row("r6", "10:00:00", "a1", "alpha", "claude-sonnet-4-5", 200, 80, input: 5, output: 5, cost: 0.0001m, tps: 50),
        Row("r7", "11:45:10", "g1", gammaNameInRecord ? "gamma" : null, "claude-haiku-4-5", 200, 1000, input: 10, output: 10, cost: 0.001m, tps: 5, user: "u1"),
    ];

    private static RequestRecord Row(
        string id, string time, string accountId, string? accountName, string model, int status, double responseMs,
        long? input = null, long? cacheRead = null, long? cacheCreation = null, long? output = null, decimal? cost = null, double? tps = null, string? user = null)
    {
        var timestamp = DateTimeOffset.Parse("2026-01-10T" + time + "Z", System.Globalization.CultureInfo.InvariantCulture);
        long? prompt = input is null ? null : input + (cacheRead ?? 0) + (cacheCreation ?? 0);
        return new RequestRecord
        {
            Id = id,
            Timestamp = timestamp,
            Method = "POST",
            Path = "/v1/test",
            Provider = model.StartsWith("gpt", StringComparison.Ordinal) ? "openai" : "anthropic",
            AccountUsed = accountId,
            AccountName = accountName,
            StatusCode = status,
            ResponseTimeMs = responseMs,
            Model = model,
            InputTokens = input,
            CacheReadInputTokens = cacheRead,
            CacheCreationInputTokens = cacheCreation,
            OutputTokens = output,
            PromptTokens = prompt,
            CompletionTokens = output,
            TotalTokens = prompt is null ? null : prompt + (output ?? 0),
            CostUsd = cost,
            OutputTokensPerSecond = tps,
            UserId = user,
        };
    }
}
