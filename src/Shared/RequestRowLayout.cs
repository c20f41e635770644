// Compiled into each relational storage package (SQLite, PostgreSQL) as a linked source file, so the
// column order of the history tables and the mapping of a row back to a RequestRecord live in one
// place without adding public API to Ccflare.AspNetCore. Each package passes in the two conversions
// its column types differ in (timestamp and cost).
using System.Data.Common;
using System.Text.Json;

namespace Ccflare.Storage;

/// <summary>Column order of <c>requests</c> and <c>request_payloads</c> and the row mapping both relational stores share.</summary>
internal static class RequestRowLayout
{
    /// <summary>Columns of <c>requests</c> in write and read order.</summary>
    internal static readonly string[] Names =
    [
        "id", "timestamp", "method", "path", "provider", "upstream_path", "account_used", "account_name",
        "status_code", "success", "error_message", "response_time_ms", "failover_attempts", "model",
        "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "output_tokens_per_second",
        "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens", "reasoning_tokens",
        "response_id", "previous_response_id", "response_chain_id", "client_session_id",
        "ttft_ms", "proxy_overhead_ms", "upstream_ttfb_ms", "streaming_duration_ms", "user_id", "cost_estimated",
    ];

    /// <summary>Columns of <c>request_payloads</c> read after the request columns; <c>id</c> is null when the request has no payload.</summary>
    internal static readonly string[] PayloadNames =
    [
        "id", "request_headers", "request_body", "response_status", "response_headers", "response_body",
        "response_body_truncated", "rate_limited", "accounts_attempted", "request_body_truncated",
    ];

    /// <summary><see cref="Names"/> qualified with the alias <c>r</c>.</summary>
    internal static readonly string SelectList = string.Join(", ", Array.ConvertAll(Names, n => "r." + n));

    /// <summary><see cref="PayloadNames"/> qualified with the alias <c>p</c> (a LEFT JOIN on <c>p.id = r.id</c>).</summary>
    internal static readonly string PayloadSelectList = string.Join(", ", Array.ConvertAll(PayloadNames, n => "p." + n));

    /// <summary>
    /// Reads a row selected with <see cref="SelectList"/> (and <see cref="PayloadSelectList"/> when
    /// <paramref name="includePayload"/>). <paramref name="timestamp"/> and <paramref name="cost"/> read
    /// the columns whose storage type differs between databases.
    /// </summary>
    internal static RequestRecord Read(
        DbDataReader reader,
        bool includePayload,
        Func<DbDataReader, int, DateTimeOffset> timestamp,
        Func<DbDataReader, int, decimal> cost)
    {
        var record = new RequestRecord
        {
            Id = reader.GetString(0),
            Timestamp = timestamp(reader, 1),
            Method = reader.GetString(2),
            Path = reader.GetString(3),
            Provider = GetString(reader, 4),
            UpstreamPath = GetString(reader, 5),
            AccountUsed = GetString(reader, 6),
            AccountName = GetString(reader, 7),
            StatusCode = reader.IsDBNull(8) ? null : reader.GetInt32(8),
            // 9: success, derived from the status code.
            ErrorMessage = GetString(reader, 10),
            ResponseTimeMs = GetDouble(reader, 11),
            FailoverAttempts = reader.GetInt32(12),
            Model = GetString(reader, 13),
            PromptTokens = GetInt64(reader, 14),
            CompletionTokens = GetInt64(reader, 15),
            TotalTokens = GetInt64(reader, 16),
            CostUsd = reader.IsDBNull(17) ? null : cost(reader, 17),
            OutputTokensPerSecond = GetDouble(reader, 18),
            InputTokens = GetInt64(reader, 19),
            CacheReadInputTokens = GetInt64(reader, 20),
            CacheCreationInputTokens = GetInt64(reader, 21),
            OutputTokens = GetInt64(reader, 22),
            ReasoningTokens = GetInt64(reader, 23),
            ResponseId = GetString(reader, 24),
            PreviousResponseId = GetString(reader, 25),
            ResponseChainId = GetString(reader, 26),
            ClientSessionId = GetString(reader, 27),
            TtftMs = GetDouble(reader, 28),
            ProxyOverheadMs = GetDouble(reader, 29),
            UpstreamTtfbMs = GetDouble(reader, 30),
            StreamingDurationMs = GetDouble(reader, 31),
            UserId = GetString(reader, 32),
            CostEstimated = reader.GetBoolean(33),
        };
        if (!includePayload || reader.IsDBNull(Names.Length))
        {
            return record;
        }
        var p = Names.Length;
        return record with
        {
            Payload = new RequestPayload
            {
                RequestHeaders = DeserializeHeaders(reader.GetString(p + 1)),
                RequestBody = reader.IsDBNull(p + 2) ? null : reader.GetFieldValue<byte[]>(p + 2),
                ResponseStatus = reader.IsDBNull(p + 3) ? null : reader.GetInt32(p + 3),
                ResponseHeaders = DeserializeHeaders(reader.GetString(p + 4)),
                ResponseBody = reader.IsDBNull(p + 5) ? null : reader.GetFieldValue<byte[]>(p + 5),
                ResponseBodyTruncated = reader.GetBoolean(p + 6),
                RateLimited = reader.GetBoolean(p + 7),
                AccountsAttempted = DeserializeList(reader.GetString(p + 8)),
                RequestBodyTruncated = reader.GetBoolean(p + 9),
            },
        };
    }

    /// <summary>Writes stored headers as one JSON object.</summary>
    internal static void WriteHeaders(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> headers)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in headers)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
    }

    /// <summary>Reads headers written by <see cref="WriteHeaders"/> (names compared case-insensitively).</summary>
    internal static Dictionary<string, string> DeserializeHeaders(string json)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            headers[property.Name] = property.Value.GetString() ?? "";
        }
        return headers;
    }

    /// <summary>Writes a list of strings as one JSON array.</summary>
    internal static void WriteList(Utf8JsonWriter writer, IReadOnlyList<string> values)
    {
        writer.WriteStartArray();
        for (var i = 0; i < values.Count; i++)
        {
            writer.WriteStringValue(values[i]);
        }
        writer.WriteEndArray();
    }

    /// <summary>Reads a list written by <see cref="WriteList"/>.</summary>
    internal static List<string> DeserializeList(string json)
    {
        using var document = JsonDocument.Parse(json);
        var values = new List<string>(document.RootElement.GetArrayLength());
        foreach (var element in document.RootElement.EnumerateArray())
        {
            values.Add(element.GetString() ?? "");
        }
        return values;
    }

    private static string? GetString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? GetInt64(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    private static double? GetDouble(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}
