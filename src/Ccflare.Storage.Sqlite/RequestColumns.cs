using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Ccflare.Storage.Sqlite;

/// <summary>SQLite's side of the shared <see cref="RequestRowLayout"/>: timestamps are Unix milliseconds, costs REAL.</summary>
internal static class RequestColumns
{
    internal static RequestRecord Read(SqliteDataReader reader, bool includePayload) =>
        RequestRowLayout.Read(
            reader,
            includePayload,
            static (r, ordinal) => SqliteStore.FromMs(r.GetInt64(ordinal)),
            static (r, ordinal) => (decimal)r.GetDouble(ordinal));
}

/// <summary>
/// The three statements of a request batch (upsert request, upsert payload, delete payload),
/// prepared once on the writer connection and reused for every record of every batch. They run on
/// SQLite's own API rather than through <see cref="SqliteCommand"/>: binding 43 values per row by
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
        var names = RequestRowLayout.Names;
        var updates = string.Join(", ", Array.ConvertAll(names[1..], n => n + " = excluded." + n));
        _upsertRequest = Prepare(
            $"INSERT INTO requests ({string.Join(", ", names)}) VALUES ({Placeholders(names.Length)}) ON CONFLICT (id) DO UPDATE SET {updates};");
        var payloadNames = RequestRowLayout.PayloadNames;
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
        Check(raw.sqlite3_bind_int64(s, 34, record.CostEstimated ? 1 : 0));
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
        Check(raw.sqlite3_bind_int64(q, 10, payload.RequestBodyTruncated ? 1 : 0));
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
        RequestRowLayout.WriteHeaders(_jsonWriter, headers);
        _jsonWriter.Flush();
        Check(raw.sqlite3_bind_text(statement, index, _json.WrittenSpan));
    }

    private void ListJson(sqlite3_stmt statement, int index, IReadOnlyList<string> values)
    {
        _json.ResetWrittenCount();
        _jsonWriter.Reset(_json);
        RequestRowLayout.WriteList(_jsonWriter, values);
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
