using System.Buffers;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Ccflare.Storage.PostgreSql;

/// <summary>Column lists, row mapping and the batched upsert of <c>requests</c> and <c>request_payloads</c>.</summary>
internal static class PostgreSqlRequestRows
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

    /// <summary>PostgreSQL array types of <see cref="Names"/>, for the <c>unnest</c> of a batch.</summary>
    private static readonly string[] ArrayTypes =
    [
        "text[]", "timestamptz[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]",
        "integer[]", "boolean[]", "text[]", "double precision[]", "integer[]", "text[]",
        "bigint[]", "bigint[]", "bigint[]", "numeric[]", "double precision[]",
        "bigint[]", "bigint[]", "bigint[]", "bigint[]", "bigint[]",
        "text[]", "text[]", "text[]", "text[]",
        "double precision[]", "double precision[]", "double precision[]", "double precision[]", "text[]",
    ];

    /// <summary>Columns of <c>request_payloads</c> in write and read order.</summary>
    internal static readonly string[] PayloadNames =
    [
        "id", "timestamp", "request_headers", "request_body", "response_status", "response_headers", "response_body",
        "response_body_truncated", "rate_limited", "accounts_attempted",
    ];

    private static readonly string[] PayloadArrayTypes =
    [
        "text[]", "timestamptz[]", "text[]", "bytea[]", "integer[]", "text[]", "bytea[]", "boolean[]", "boolean[]", "text[]",
    ];

    internal static readonly string SelectList = string.Join(", ", Array.ConvertAll(Names, n => "r." + n));

    /// <summary>Payload columns after the request columns (without the repeated timestamp); <c>p.id</c> is null when the request has no payload.</summary>
    internal static readonly string PayloadSelectList =
        "p.id, p.request_headers, p.request_body, p.response_status, p.response_headers, p.response_body, p.response_body_truncated, p.rate_limited, p.accounts_attempted";

    /// <summary>The three statements of a batch write, for schema <paramref name="s"/> (quoted).</summary>
    internal static (string UpsertRequests, string DeletePayloads, string UpsertPayloads) WriteSql(string s)
    {
        static string Unnest(string[] types) =>
            string.Join(", ", types.Select((type, i) => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "::" + type));
        var updates = string.Join(", ", Names.Skip(1).Select(n => n + " = excluded." + n));
        var upsertRequests =
            $"INSERT INTO {s}.requests ({string.Join(", ", Names)}) SELECT * FROM unnest({Unnest(ArrayTypes)}) ON CONFLICT (id) DO UPDATE SET {updates};";
        var deletePayloads = $"DELETE FROM {s}.request_payloads WHERE id = ANY(@ids);";
        var payloadUpdates = string.Join(", ", PayloadNames.Skip(1).Select(n => n + " = excluded." + n));
        var upsertPayloads =
            $"INSERT INTO {s}.request_payloads ({string.Join(", ", PayloadNames)}) SELECT * FROM unnest({Unnest(PayloadArrayTypes)}) ON CONFLICT (id) DO UPDATE SET {payloadUpdates};";
        return (upsertRequests, deletePayloads, upsertPayloads);
    }

    /// <summary>
    /// Builds one batch: a multi-row upsert of every request (one array parameter per column), a
    /// delete of the payloads of requests written without one, and a multi-row upsert of the payloads.
    /// When an id appears twice, the last record wins (as writing them one by one would).
    /// </summary>
    internal static NpgsqlBatch CreateWriteBatch(NpgsqlConnection connection, (string UpsertRequests, string DeletePayloads, string UpsertPayloads) sql, IReadOnlyList<RequestRecord> input)
    {
        var records = Deduplicate(input);
        var n = records.Count;
        var ids = new string[n];
        var timestamps = new DateTime[n];
        var methods = new string[n];
        var paths = new string[n];
        var providers = new string?[n];
        var upstreamPaths = new string?[n];
        var accountsUsed = new string?[n];
        var accountNames = new string?[n];
        var statusCodes = new int?[n];
        var successes = new bool[n];
        var errors = new string?[n];
        var responseTimes = new double?[n];
        var failovers = new int[n];
        var models = new string?[n];
        var promptTokens = new long?[n];
        var completionTokens = new long?[n];
        var totalTokens = new long?[n];
        var costs = new decimal?[n];
        var tokensPerSecond = new double?[n];
        var inputTokens = new long?[n];
        var cacheRead = new long?[n];
        var cacheCreation = new long?[n];
        var outputTokens = new long?[n];
        var reasoningTokens = new long?[n];
        var responseIds = new string?[n];
        var previousResponseIds = new string?[n];
        var chainIds = new string?[n];
        var clientSessionIds = new string?[n];
        var ttft = new double?[n];
        var overhead = new double?[n];
        var ttfb = new double?[n];
        var streaming = new double?[n];
        var userIds = new string?[n];

        var withoutPayload = new List<string>();
        var payloadRecords = new List<RequestRecord>();
        for (var i = 0; i < n; i++)
        {
            var r = records[i];
            ids[i] = r.Id;
            timestamps[i] = r.Timestamp.UtcDateTime;
            methods[i] = r.Method;
            paths[i] = r.Path;
            providers[i] = r.Provider;
            upstreamPaths[i] = r.UpstreamPath;
            accountsUsed[i] = r.AccountUsed;
            accountNames[i] = r.AccountName;
            statusCodes[i] = r.StatusCode;
            successes[i] = r.Success;
            errors[i] = r.ErrorMessage;
            responseTimes[i] = r.ResponseTimeMs;
            failovers[i] = r.FailoverAttempts;
            models[i] = r.Model;
            promptTokens[i] = r.PromptTokens;
            completionTokens[i] = r.CompletionTokens;
            totalTokens[i] = r.TotalTokens;
            costs[i] = r.CostUsd;
            tokensPerSecond[i] = r.OutputTokensPerSecond;
            inputTokens[i] = r.InputTokens;
            cacheRead[i] = r.CacheReadInputTokens;
            cacheCreation[i] = r.CacheCreationInputTokens;
            outputTokens[i] = r.OutputTokens;
            reasoningTokens[i] = r.ReasoningTokens;
            responseIds[i] = r.ResponseId;
            previousResponseIds[i] = r.PreviousResponseId;
            chainIds[i] = r.ResponseChainId;
            clientSessionIds[i] = r.ClientSessionId;
            ttft[i] = r.TtftMs;
            overhead[i] = r.ProxyOverheadMs;
            ttfb[i] = r.UpstreamTtfbMs;
            streaming[i] = r.StreamingDurationMs;
            userIds[i] = r.UserId;
            if (r.Payload is null)
            {
                withoutPayload.Add(r.Id);
            }
            else
            {
                payloadRecords.Add(r);
            }
        }

        var batch = new NpgsqlBatch(connection);
        var upsert = new NpgsqlBatchCommand(sql.UpsertRequests);
        object[] columns =
        [
            ids, timestamps, methods, paths, providers, upstreamPaths, accountsUsed, accountNames,
            statusCodes, successes, errors, responseTimes, failovers, models,
            promptTokens, completionTokens, totalTokens, costs, tokensPerSecond,
            inputTokens, cacheRead, cacheCreation, outputTokens, reasoningTokens,
            responseIds, previousResponseIds, chainIds, clientSessionIds,
            ttft, overhead, ttfb, streaming, userIds,
        ];
        AddArrays(upsert, columns, ArrayTypes);
        batch.BatchCommands.Add(upsert);

        if (withoutPayload.Count > 0)
        {
            var delete = new NpgsqlBatchCommand(sql.DeletePayloads);
            delete.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = withoutPayload.ToArray() });
            batch.BatchCommands.Add(delete);
        }

        if (payloadRecords.Count > 0)
        {
            var m = payloadRecords.Count;
            var pIds = new string[m];
            var pTimestamps = new DateTime[m];
            var requestHeaders = new string[m];
            var requestBodies = new byte[]?[m];
            var responseStatuses = new int?[m];
            var responseHeaders = new string[m];
            var responseBodies = new byte[]?[m];
            var truncated = new bool[m];
            var rateLimited = new bool[m];
            var attempted = new string[m];
            for (var i = 0; i < m; i++)
            {
                var r = payloadRecords[i];
                var p = r.Payload!;
                pIds[i] = r.Id;
                pTimestamps[i] = r.Timestamp.UtcDateTime;
                requestHeaders[i] = SerializeHeaders(p.RequestHeaders);
                requestBodies[i] = p.RequestBody;
                responseStatuses[i] = p.ResponseStatus;
                responseHeaders[i] = SerializeHeaders(p.ResponseHeaders);
                responseBodies[i] = p.ResponseBody;
                truncated[i] = p.ResponseBodyTruncated;
                rateLimited[i] = p.RateLimited;
                attempted[i] = SerializeList(p.AccountsAttempted);
            }
            var payloads = new NpgsqlBatchCommand(sql.UpsertPayloads);
            AddArrays(payloads, [pIds, pTimestamps, requestHeaders, requestBodies, responseStatuses, responseHeaders, responseBodies, truncated, rateLimited, attempted], PayloadArrayTypes);
            batch.BatchCommands.Add(payloads);
        }
        return batch;
    }

    private static void AddArrays(NpgsqlBatchCommand command, object[] columns, string[] types)
    {
        for (var i = 0; i < columns.Length; i++)
        {
            command.Parameters.Add(new NpgsqlParameter("p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), ArrayType(types[i])) { Value = columns[i] });
        }
    }

    private static NpgsqlDbType ArrayType(string type) => NpgsqlDbType.Array | type switch
    {
        "text[]" => NpgsqlDbType.Text,
        "timestamptz[]" => NpgsqlDbType.TimestampTz,
        "integer[]" => NpgsqlDbType.Integer,
        "bigint[]" => NpgsqlDbType.Bigint,
        "boolean[]" => NpgsqlDbType.Boolean,
        "double precision[]" => NpgsqlDbType.Double,
        "numeric[]" => NpgsqlDbType.Numeric,
        "bytea[]" => NpgsqlDbType.Bytea,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static IReadOnlyList<RequestRecord> Deduplicate(IReadOnlyList<RequestRecord> records)
    {
        var last = new Dictionary<string, int>(records.Count, StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            last[records[i].Id] = i;
        }
        if (last.Count == records.Count)
        {
            return records;
        }
        var unique = new List<RequestRecord>(last.Count);
        for (var i = 0; i < records.Count; i++)
        {
            if (last[records[i].Id] == i)
            {
                unique.Add(records[i]);
            }
        }
        return unique;
    }

    internal static RequestRecord Read(NpgsqlDataReader reader, bool includePayload)
    {
        var record = new RequestRecord
        {
            Id = reader.GetString(0),
            Timestamp = PostgreSqlStore.Instant(reader, 1),
            Method = reader.GetString(2),
            Path = reader.GetString(3),
            Provider = PostgreSqlStore.GetString(reader, 4),
            UpstreamPath = PostgreSqlStore.GetString(reader, 5),
            AccountUsed = PostgreSqlStore.GetString(reader, 6),
            AccountName = PostgreSqlStore.GetString(reader, 7),
            StatusCode = reader.IsDBNull(8) ? null : reader.GetInt32(8),
            // 9: success, derived from the status code.
            ErrorMessage = PostgreSqlStore.GetString(reader, 10),
            ResponseTimeMs = GetDouble(reader, 11),
            FailoverAttempts = reader.GetInt32(12),
            Model = PostgreSqlStore.GetString(reader, 13),
            PromptTokens = PostgreSqlStore.GetInt64(reader, 14),
            CompletionTokens = PostgreSqlStore.GetInt64(reader, 15),
            TotalTokens = PostgreSqlStore.GetInt64(reader, 16),
            CostUsd = reader.IsDBNull(17) ? null : reader.GetDecimal(17),
            OutputTokensPerSecond = GetDouble(reader, 18),
            InputTokens = PostgreSqlStore.GetInt64(reader, 19),
            CacheReadInputTokens = PostgreSqlStore.GetInt64(reader, 20),
            CacheCreationInputTokens = PostgreSqlStore.GetInt64(reader, 21),
            OutputTokens = PostgreSqlStore.GetInt64(reader, 22),
            ReasoningTokens = PostgreSqlStore.GetInt64(reader, 23),
            ResponseId = PostgreSqlStore.GetString(reader, 24),
            PreviousResponseId = PostgreSqlStore.GetString(reader, 25),
            ResponseChainId = PostgreSqlStore.GetString(reader, 26),
            ClientSessionId = PostgreSqlStore.GetString(reader, 27),
            TtftMs = GetDouble(reader, 28),
            ProxyOverheadMs = GetDouble(reader, 29),
            UpstreamTtfbMs = GetDouble(reader, 30),
            StreamingDurationMs = GetDouble(reader, 31),
            UserId = PostgreSqlStore.GetString(reader, 32),
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
            },
        };
    }

    private static double? GetDouble(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    internal static string SerializeHeaders(IReadOnlyDictionary<string, string> headers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

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

    internal static string SerializeList(IReadOnlyList<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < values.Count; i++)
            {
                writer.WriteStringValue(values[i]);
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

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
}
