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
    /// <summary>
    /// Writes the row of <paramref name="exchange"/> as <see cref="RecordBuilder"/> would build it without its
    /// payload, straight from the exchange (no record is built for the journal), and leaves the object open
    /// for <see cref="WriteEnd"/>.
    /// </summary>
    public static void WriteRow(Utf8JsonWriter json, ProxyExchange exchange, UsageInfo usage, RequestFields fields)
    {
        var account = exchange.Account?.Snapshot;
        json.WriteStartObject();
        json.WriteString("id", exchange.Id);
        json.WriteNumber("ts", exchange.Timestamp.ToUnixTimeMilliseconds());
        json.WriteString("m", exchange.Method);
        json.WriteString("p", exchange.Path);
        String(json, "pv", exchange.Provider);
        String(json, "up", exchange.UpstreamPath);
        String(json, "a", account?.Id);
        String(json, "an", account?.Name);
        Number(json, "s", exchange.StatusCode);
        String(json, "e", exchange.ErrorMessage);
        Number(json, "rt", exchange.ResponseTimeMs);
        if (exchange.FailoverAttempts != 0)
        {
            json.WriteNumber("fa", exchange.FailoverAttempts);
        }
        String(json, "mo", RecordBuilder.Model(exchange, usage, fields));
        Number(json, "pt", usage.PromptTokens);
        Number(json, "ct", usage.CompletionTokens);
        Number(json, "tt", usage.TotalTokens);
        Number(json, "ops", RecordBuilder.OutputTokensPerSecond(exchange, usage));
        Number(json, "it", usage.InputTokens);
        Number(json, "cr", usage.CacheReadInputTokens);
        Number(json, "cw", usage.CacheCreationInputTokens);
        Number(json, "ot", usage.OutputTokens);
        Number(json, "rs", usage.ReasoningTokens);
        String(json, "ri", usage.ResponseId);
        String(json, "pr", fields.PreviousResponseId);
        if (usage.Format != UsageFormat.Unknown)
        {
            json.WriteNumber("f", (int)usage.Format);
        }
        String(json, "cs", exchange.ClientSessionId);
        Number(json, "tf", exchange.FirstByteToClientMs);
        Number(json, "po", RecordBuilder.ProxyOverheadMs(exchange));
        Number(json, "ub", exchange.UpstreamTtfbMs);
        Number(json, "sd", RecordBuilder.StreamingDurationMs(exchange));
        String(json, "u", exchange.UserId);
    }

    /// <summary>Ends the object <see cref="WriteRow"/> began, with the account counters when there are any.</summary>
    public static void WriteEnd(Utf8JsonWriter json, JournaledCounters? counters)
    {
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
