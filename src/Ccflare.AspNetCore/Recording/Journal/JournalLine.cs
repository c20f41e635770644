using System.Text.Json;
using Ccflare.Usage;

namespace Ccflare.Recording.Journal;

/// <summary>Account counters right after the request a journal line records.</summary>
internal readonly record struct JournaledCounters(string AccountId, long TotalRequests, long RequestCount, long SessionRequestCount, DateTimeOffset LastUsed);

/// <summary>One request as the journal keeps it: the history row without its payload, cost or chain, which are derived again on replay.</summary>
internal sealed record JournalLine(RequestRecord Row, UsageFormat Format, JournaledCounters? Counters);

/// <summary>
/// The journal's line format: one compact JSON object per request, short property names, absent
/// values left out. JSON so that a journal stays readable with standard tools after a crash.
/// </summary>
internal static class JournalLineFormat
{
    public static void Write(Utf8JsonWriter json, RequestRecord row, UsageFormat format, JournaledCounters? counters)
    {
        json.WriteStartObject();
        json.WriteString("id", row.Id);
        json.WriteNumber("ts", row.Timestamp.ToUnixTimeMilliseconds());
        json.WriteString("m", row.Method);
        json.WriteString("p", row.Path);
        String(json, "pv", row.Provider);
        String(json, "up", row.UpstreamPath);
        String(json, "a", row.AccountUsed);
        String(json, "an", row.AccountName);
        Number(json, "s", row.StatusCode);
        String(json, "e", row.ErrorMessage);
        Number(json, "rt", row.ResponseTimeMs);
        if (row.FailoverAttempts != 0)
        {
            json.WriteNumber("fa", row.FailoverAttempts);
        }
        String(json, "mo", row.Model);
        Number(json, "pt", row.PromptTokens);
        Number(json, "ct", row.CompletionTokens);
        Number(json, "tt", row.TotalTokens);
        Number(json, "ops", row.OutputTokensPerSecond);
        Number(json, "it", row.InputTokens);
        Number(json, "cr", row.CacheReadInputTokens);
        Number(json, "cw", row.CacheCreationInputTokens);
        Number(json, "ot", row.OutputTokens);
        Number(json, "rs", row.ReasoningTokens);
        String(json, "ri", row.ResponseId);
        String(json, "pr", row.PreviousResponseId);
        if (format != UsageFormat.Unknown)
        {
            json.WriteNumber("f", (int)format);
        }
        String(json, "cs", row.ClientSessionId);
        Number(json, "tf", row.TtftMs);
        Number(json, "po", row.ProxyOverheadMs);
        Number(json, "ub", row.UpstreamTtfbMs);
        Number(json, "sd", row.StreamingDurationMs);
        String(json, "u", row.UserId);
        if (counters is { } c)
        {
            json.WriteNumber("ctr", c.TotalRequests);
            json.WriteNumber("crc", c.RequestCount);
            json.WriteNumber("csc", c.SessionRequestCount);
            json.WriteNumber("clu", c.LastUsed.ToUnixTimeMilliseconds());
        }
        json.WriteEndObject();
    }

    /// <summary>Reads one line; null when it is not a complete journal object (a line torn by a power loss).</summary>
    public static JournalLine? Read(ReadOnlySpan<byte> line)
    {
        try
        {
            return ReadCore(line);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static JournalLine? ReadCore(ReadOnlySpan<byte> line)
    {
        using var document = JsonDocument.Parse(line.ToArray());
        var o = document.RootElement;
        if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("id", out var id) || id.GetString() is not { Length: > 0 } requestId
            || !o.TryGetProperty("ts", out var ts) || !o.TryGetProperty("m", out var method) || !o.TryGetProperty("p", out var path))
        {
            return null;
        }
        var row = new RequestRecord
        {
            Id = requestId,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(ts.GetInt64()),
            Method = method.GetString() ?? "",
            Path = path.GetString() ?? "",
            Provider = String(o, "pv"),
            UpstreamPath = String(o, "up"),
            AccountUsed = String(o, "a"),
            AccountName = String(o, "an"),
            StatusCode = (int?)Int64(o, "s"),
            ErrorMessage = String(o, "e"),
            ResponseTimeMs = Double(o, "rt"),
            FailoverAttempts = (int)(Int64(o, "fa") ?? 0),
            Model = String(o, "mo"),
            PromptTokens = Int64(o, "pt"),
            CompletionTokens = Int64(o, "ct"),
            TotalTokens = Int64(o, "tt"),
            OutputTokensPerSecond = Double(o, "ops"),
            InputTokens = Int64(o, "it"),
            CacheReadInputTokens = Int64(o, "cr"),
            CacheCreationInputTokens = Int64(o, "cw"),
            OutputTokens = Int64(o, "ot"),
            ReasoningTokens = Int64(o, "rs"),
            ResponseId = String(o, "ri"),
            PreviousResponseId = String(o, "pr"),
            ClientSessionId = String(o, "cs"),
            TtftMs = Double(o, "tf"),
            ProxyOverheadMs = Double(o, "po"),
            UpstreamTtfbMs = Double(o, "ub"),
            StreamingDurationMs = Double(o, "sd"),
            UserId = String(o, "u"),
        };
        JournaledCounters? counters = row.AccountUsed is { } account && Int64(o, "ctr") is { } total
            ? new JournaledCounters(account, total, Int64(o, "crc") ?? 0, Int64(o, "csc") ?? 0, DateTimeOffset.FromUnixTimeMilliseconds(Int64(o, "clu") ?? 0))
            : null;
        return new JournalLine(row, (UsageFormat)(Int64(o, "f") ?? 0), counters);
    }

    private static void String(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void Number(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    private static void Number(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, Math.Round(v, 3));
        }
    }

    private static string? String(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Int64(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static double? Double(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
