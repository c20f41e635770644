using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Ccflare.Storage.Sqlite;

/// <summary>Column lists and row mapping of <c>requests</c> and <c>request_payloads</c>.</summary>
internal static class RequestColumns
{
    /// <summary>Columns of <c>requests</c> in write and read order.</summary>
    internal static readonly string[] Names =
    [
        "id", "timestamp", "method", "path", "provider", "upstream_path", "account_used", "account_name",
        "status_code", "success", "error_message", "response_time_ms", "failover_attempts", "model",
        "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "output_tokens_per_second",
        "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens", "reasoning_tokens",
        "response_id", "previous_response_id", "response_chain_id", "client_session_id",
        "ttft_ms", "proxy_overhead_ms", "upstream_ttfb_ms", "streaming_duration_ms", "user_id",
    ];

    /// <summary>Columns of <c>request_payloads</c> in write and read order.</summary>
    internal static readonly string[] PayloadNames =
    [
        "id", "request_headers", "request_body", "response_status", "response_headers", "response_body",
        "response_body_truncated", "rate_limited", "accounts_attempted",
    ];

    internal static readonly string SelectList = string.Join(", ", Array.ConvertAll(Names, n => "r." + n));

    /// <summary>Payload columns after the request columns; <c>p.id</c> is null when the request has no payload.</summary>
    internal static readonly string PayloadSelectList = string.Join(", ", Array.ConvertAll(PayloadNames, n => "p." + n));

    internal static RequestRecord Read(SqliteDataReader reader, bool includePayload)
    {
        var record = new RequestRecord
        {
            Id = reader.GetString(0),
            Timestamp = SqliteStore.FromMs(reader.GetInt64(1)),
            Method = reader.GetString(2),
            Path = reader.GetString(3),
            Provider = SqliteStore.GetString(reader, 4),
            UpstreamPath = SqliteStore.GetString(reader, 5),
            AccountUsed = SqliteStore.GetString(reader, 6),
            AccountName = SqliteStore.GetString(reader, 7),
            StatusCode = reader.IsDBNull(8) ? null : reader.GetInt32(8),
            // 9: success, derived from the status code.
            ErrorMessage = SqliteStore.GetString(reader, 10),
            ResponseTimeMs = GetDouble(reader, 11),
            FailoverAttempts = reader.GetInt32(12),
            Model = SqliteStore.GetString(reader, 13),
            PromptTokens = SqliteStore.GetInt64(reader, 14),
            CompletionTokens = SqliteStore.GetInt64(reader, 15),
            TotalTokens = SqliteStore.GetInt64(reader, 16),
            CostUsd = reader.IsDBNull(17) ? null : (decimal)reader.GetDouble(17),
            OutputTokensPerSecond = GetDouble(reader, 18),
            InputTokens = SqliteStore.GetInt64(reader, 19),
            CacheReadInputTokens = SqliteStore.GetInt64(reader, 20),
            CacheCreationInputTokens = SqliteStore.GetInt64(reader, 21),
            OutputTokens = SqliteStore.GetInt64(reader, 22),
            ReasoningTokens = SqliteStore.GetInt64(reader, 23),
            ResponseId = SqliteStore.GetString(reader, 24),
            PreviousResponseId = SqliteStore.GetString(reader, 25),
            ResponseChainId = SqliteStore.GetString(reader, 26),
            ClientSessionId = SqliteStore.GetString(reader, 27),
            TtftMs = GetDouble(reader, 28),
            ProxyOverheadMs = GetDouble(reader, 29),
            UpstreamTtfbMs = GetDouble(reader, 30),
            StreamingDurationMs = GetDouble(reader, 31),
            UserId = SqliteStore.GetString(reader, 32),
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
                RequestHeaders = SqliteStore.DeserializeHeaders(reader.GetString(p + 1)),
                RequestBody = reader.IsDBNull(p + 2) ? null : (byte[])reader.GetValue(p + 2),
                ResponseStatus = reader.IsDBNull(p + 3) ? null : reader.GetInt32(p + 3),
                ResponseHeaders = SqliteStore.DeserializeHeaders(reader.GetString(p + 4)),
                ResponseBody = reader.IsDBNull(p + 5) ? null : (byte[])reader.GetValue(p + 5),
                ResponseBodyTruncated = reader.GetInt64(p + 6) != 0,
                RateLimited = reader.GetInt64(p + 7) != 0,
                AccountsAttempted = SqliteStore.DeserializeList(reader.GetString(p + 8)),
            },
        };
    }

    private static double? GetDouble(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}

/// <summary>
/// The three statements of a request batch (upsert request, upsert payload, delete payload),
/// prepared once on the writer connection and reused for every record of every batch. They run on
/// SQLite's own API rather than through <see cref="SqliteCommand"/>: binding 42 values per row by
/// name through Microsoft.Data.Sqlite allocated a binder object and a UTF-8 copy for each and cost
/// more than the insert itself. Values are bound by position; text is encoded into one reused
/// buffer and header JSON written straight to UTF-8 (SQLite copies what is bound).
/// </summary>
internal sealed class RequestWriteCommands : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _upsertRequest;
    private readonly sqlite3_stmt _upsertPayload;
    private readonly sqlite3_stmt _deletePayload;
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly Utf8JsonWriter _jsonWriter;
    private byte[] _text = new byte[512];

    public RequestWriteCommands(SqliteConnection connection)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The writer connection is not open.");
        _jsonWriter = new Utf8JsonWriter(_json);

        // An upsert rather than INSERT OR REPLACE: REPLACE deletes the old row first, which would
        // cascade to its payload; ON CONFLICT ... DO UPDATE rewrites it in place.
        var names = RequestColumns.Names;
        var updates = string.Join(", ", Array.ConvertAll(names[1..], n => n + " = excluded." + n));
        _upsertRequest = Prepare(
            $"INSERT INTO requests ({string.Join(", ", names)}) VALUES ({Placeholders(names.Length)}) ON CONFLICT (id) DO UPDATE SET {updates};");
        var payloadNames = RequestColumns.PayloadNames;
        _upsertPayload = Prepare(
            $"INSERT OR REPLACE INTO request_payloads ({string.Join(", ", payloadNames)}) VALUES ({Placeholders(payloadNames.Length)});");
        _deletePayload = Prepare("DELETE FROM request_payloads WHERE id = ?1;");
    }

    /// <summary><c>?1, ?2, ...</c>: parameter <c>i</c> is column <c>i - 1</c> of the list.</summary>
    private static string Placeholders(int count) =>
        string.Join(", ", Enumerable.Range(1, count).Select(i => "?" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return statement;
    }

    /// <summary>Writes one record. Runs inside the caller's transaction on the same connection.</summary>
    public void Write(RequestRecord record)
    {
        var s = _upsertRequest;
        Text(s, 1, record.Id);
        Check(raw.sqlite3_bind_int64(s, 2, SqliteStore.ToMs(record.Timestamp)));
        Text(s, 3, record.Method);
        Text(s, 4, record.Path);
        Text(s, 5, record.Provider);
        Text(s, 6, record.UpstreamPath);
        Text(s, 7, record.AccountUsed);
        Text(s, 8, record.AccountName);
        Integer(s, 9, record.StatusCode);
        Check(raw.sqlite3_bind_int64(s, 10, record.Success ? 1 : 0));
        Text(s, 11, record.ErrorMessage);
        Real(s, 12, record.ResponseTimeMs);
        Check(raw.sqlite3_bind_int64(s, 13, record.FailoverAttempts));
        Text(s, 14, record.Model);
        Integer(s, 15, record.PromptTokens);
        Integer(s, 16, record.CompletionTokens);
        Integer(s, 17, record.TotalTokens);
        Real(s, 18, record.CostUsd is { } cost ? (double)cost : null);
        Real(s, 19, record.OutputTokensPerSecond);
        Integer(s, 20, record.InputTokens);
        Integer(s, 21, record.CacheReadInputTokens);
        Integer(s, 22, record.CacheCreationInputTokens);
        Integer(s, 23, record.OutputTokens);
        Integer(s, 24, record.ReasoningTokens);
        Text(s, 25, record.ResponseId);
        Text(s, 26, record.PreviousResponseId);
        Text(s, 27, record.ResponseChainId);
        Text(s, 28, record.ClientSessionId);
        Real(s, 29, record.TtftMs);
        Real(s, 30, record.ProxyOverheadMs);
        Real(s, 31, record.UpstreamTtfbMs);
        Real(s, 32, record.StreamingDurationMs);
        Text(s, 33, record.UserId);
        Step(s);

        if (record.Payload is not { } payload)
        {
            Text(_deletePayload, 1, record.Id);
            Step(_deletePayload);
            return;
        }
        var q = _upsertPayload;
        Text(q, 1, record.Id);
        HeadersJson(q, 2, payload.RequestHeaders);
        Blob(q, 3, payload.RequestBody);
        Integer(q, 4, payload.ResponseStatus);
        HeadersJson(q, 5, payload.ResponseHeaders);
        Blob(q, 6, payload.ResponseBody);
        Check(raw.sqlite3_bind_int64(q, 7, payload.ResponseBodyTruncated ? 1 : 0));
        Check(raw.sqlite3_bind_int64(q, 8, payload.RateLimited ? 1 : 0));
        ListJson(q, 9, payload.AccountsAttempted);
        Step(q);
    }

    private void Step(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    private void Text(sqlite3_stmt statement, int index, string? value)
    {
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(statement, index));
            return;
        }
        if (value.Length == 0)
        {
            Check(raw.sqlite3_bind_text(statement, index, string.Empty));
            return;
        }
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (_text.Length < max)
        {
            _text = new byte[Math.Max(max, _text.Length * 2)];
        }
        var length = Encoding.UTF8.GetBytes(value, _text);
        Check(raw.sqlite3_bind_text(statement, index, _text.AsSpan(0, length)));
    }

    private void Integer(sqlite3_stmt statement, int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(statement, index, v) : raw.sqlite3_bind_null(statement, index));

    private void Real(sqlite3_stmt statement, int index, double? value) =>
        Check(value is { } v ? raw.sqlite3_bind_double(statement, index, v) : raw.sqlite3_bind_null(statement, index));

    private void Blob(sqlite3_stmt statement, int index, byte[]? value) =>
        Check(value is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_blob(statement, index, value));

    private void HeadersJson(sqlite3_stmt statement, int index, IReadOnlyDictionary<string, string> headers)
    {
        _json.ResetWrittenCount();
        _jsonWriter.Reset(_json);
        SqliteStore.WriteHeaders(_jsonWriter, headers);
        _jsonWriter.Flush();
        Check(raw.sqlite3_bind_text(statement, index, _json.WrittenSpan));
    }

    private void ListJson(sqlite3_stmt statement, int index, IReadOnlyList<string> values)
    {
        _json.ResetWrittenCount();
        _jsonWriter.Reset(_json);
        SqliteStore.WriteList(_jsonWriter, values);
        _jsonWriter.Flush();
        Check(raw.sqlite3_bind_text(statement, index, _json.WrittenSpan));
    }

    public void Dispose()
    {
        _upsertRequest.Dispose();
        _upsertPayload.Dispose();
        _deletePayload.Dispose();
        _jsonWriter.Dispose();
    }
}
