using Microsoft.Data.Sqlite;

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
/// The three prepared statements of a request batch (upsert request, upsert payload, delete payload),
/// created once on the writer connection and reused for every record of every batch.
/// </summary>
internal sealed class RequestWriteCommands : IDisposable
{
    private readonly SqliteCommand _upsertRequest;
    private readonly SqliteParameter[] _requestParameters;
    private readonly SqliteCommand _upsertPayload;
    private readonly SqliteParameter[] _payloadParameters;
    private readonly SqliteCommand _deletePayload;
    private readonly SqliteParameter _deletePayloadId;

    public RequestWriteCommands(SqliteConnection connection)
    {
        // An upsert rather than INSERT OR REPLACE: REPLACE deletes the old row first, which would
        // cascade to its payload; ON CONFLICT ... DO UPDATE rewrites it in place.
        var names = RequestColumns.Names;
        var updates = string.Join(", ", Array.ConvertAll(names[1..], n => n + " = excluded." + n));
        _upsertRequest = Create(connection,
            $"INSERT INTO requests ({string.Join(", ", names)}) VALUES ({string.Join(", ", Array.ConvertAll(names, n => "@" + n))}) ON CONFLICT (id) DO UPDATE SET {updates};",
            names, out _requestParameters);

        var payloadNames = RequestColumns.PayloadNames;
        _upsertPayload = Create(connection,
            $"INSERT OR REPLACE INTO request_payloads ({string.Join(", ", payloadNames)}) VALUES ({string.Join(", ", Array.ConvertAll(payloadNames, n => "@" + n))});",
            payloadNames, out _payloadParameters);

        _deletePayload = Create(connection, "DELETE FROM request_payloads WHERE id = @id;", ["id"], out var deleteParameters);
        _deletePayloadId = deleteParameters[0];
    }

    private static SqliteCommand Create(SqliteConnection connection, string sql, string[] names, out SqliteParameter[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        parameters = new SqliteParameter[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            parameters[i] = command.Parameters.Add(new SqliteParameter("@" + names[i], DBNull.Value));
        }
        return command;
    }

    public void Enlist(SqliteTransaction transaction)
    {
        _upsertRequest.Transaction = transaction;
        _upsertPayload.Transaction = transaction;
        _deletePayload.Transaction = transaction;
    }

    public void Write(RequestRecord record)
    {
        var p = _requestParameters;
        p[0].Value = record.Id;
        p[1].Value = SqliteStore.ToMs(record.Timestamp);
        p[2].Value = record.Method;
        p[3].Value = record.Path;
        p[4].Value = SqliteStore.Db(record.Provider);
        p[5].Value = SqliteStore.Db(record.UpstreamPath);
        p[6].Value = SqliteStore.Db(record.AccountUsed);
        p[7].Value = SqliteStore.Db(record.AccountName);
        p[8].Value = record.StatusCode is { } status ? status : DBNull.Value;
        p[9].Value = record.Success ? 1 : 0;
        p[10].Value = SqliteStore.Db(record.ErrorMessage);
        p[11].Value = Db(record.ResponseTimeMs);
        p[12].Value = record.FailoverAttempts;
        p[13].Value = SqliteStore.Db(record.Model);
        p[14].Value = Db(record.PromptTokens);
        p[15].Value = Db(record.CompletionTokens);
        p[16].Value = Db(record.TotalTokens);
        p[17].Value = record.CostUsd is { } cost ? (double)cost : DBNull.Value;
        p[18].Value = Db(record.OutputTokensPerSecond);
        p[19].Value = Db(record.InputTokens);
        p[20].Value = Db(record.CacheReadInputTokens);
        p[21].Value = Db(record.CacheCreationInputTokens);
        p[22].Value = Db(record.OutputTokens);
        p[23].Value = Db(record.ReasoningTokens);
        p[24].Value = SqliteStore.Db(record.ResponseId);
        p[25].Value = SqliteStore.Db(record.PreviousResponseId);
        p[26].Value = SqliteStore.Db(record.ResponseChainId);
        p[27].Value = SqliteStore.Db(record.ClientSessionId);
        p[28].Value = Db(record.TtftMs);
        p[29].Value = Db(record.ProxyOverheadMs);
        p[30].Value = Db(record.UpstreamTtfbMs);
        p[31].Value = Db(record.StreamingDurationMs);
        p[32].Value = SqliteStore.Db(record.UserId);
        _upsertRequest.ExecuteNonQuery();

        if (record.Payload is not { } payload)
        {
            _deletePayloadId.Value = record.Id;
            _deletePayload.ExecuteNonQuery();
            return;
        }
        var q = _payloadParameters;
        q[0].Value = record.Id;
        q[1].Value = SqliteStore.SerializeHeaders(payload.RequestHeaders);
        q[2].Value = payload.RequestBody is { } requestBody ? requestBody : DBNull.Value;
        q[3].Value = payload.ResponseStatus is { } responseStatus ? responseStatus : DBNull.Value;
        q[4].Value = SqliteStore.SerializeHeaders(payload.ResponseHeaders);
        q[5].Value = payload.ResponseBody is { } responseBody ? responseBody : DBNull.Value;
        q[6].Value = payload.ResponseBodyTruncated ? 1 : 0;
        q[7].Value = payload.RateLimited ? 1 : 0;
        q[8].Value = SqliteStore.SerializeList(payload.AccountsAttempted);
        _upsertPayload.ExecuteNonQuery();
    }

    private static object Db(long? value) => value is { } v ? v : DBNull.Value;

    private static object Db(double? value) => value is { } v ? v : DBNull.Value;

    public void Dispose()
    {
        _upsertRequest.Dispose();
        _upsertPayload.Dispose();
        _deletePayload.Dispose();
    }
}
