using System.Buffers;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Ccflare.Storage.PostgreSql;

/// <summary>Column lists, row mapping and the batched upsert of <c>requests</c> and <c>request_payloads</c>.</summary>
internal static class PostgreSqlRequestRows
{
    /// <summary>Columns of <c>requests</c> in write and read order (shared with the SQLite store).</summary>
    internal static readonly string[] Names = RequestRowLayout.Names;

    /// <summary>PostgreSQL array types of <see cref="Names"/>, for the <c>unnest</c> of a batch.</summary>
    private static readonly string[] ArrayTypes =
    [
        "text[]", "timestamptz[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]",
        "integer[]", "boolean[]", "text[]", "double precision[]", "integer[]", "text[]",
        "bigint[]", "bigint[]", "bigint[]", "numeric[]", "double precision[]",
        "bigint[]", "bigint[]", "bigint[]", "bigint[]", "bigint[]",
        "text[]", "text[]", "text[]", "text[]",
        "double precision[]", "double precision[]", "double precision[]", "double precision[]", "text[]", "boolean[]",
    ];

    /// <summary>
    /// Columns of <c>request_payloads</c> in write order: the shared read columns with this table's own
    /// <c>timestamp</c> after <c>id</c> (reads take the request's).
    /// </summary>
    internal static readonly string[] PayloadNames = [RequestRowLayout.PayloadNames[0], "timestamp", .. RequestRowLayout.PayloadNames[1..]];

    private static readonly string[] PayloadArrayTypes =
    [
        "text[]", "timestamptz[]", "text[]", "bytea[]", "integer[]", "text[]", "bytea[]", "boolean[]", "boolean[]", "text[]", "boolean[]",
    ];

    internal static readonly string SelectList = RequestRowLayout.SelectList;

    /// <summary>Payload columns after the request columns (without the repeated timestamp); <c>p.id</c> is null when the request has no payload.</summary>
    internal static readonly string PayloadSelectList = RequestRowLayout.PayloadSelectList;

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
        var costEstimated = new bool[n];

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
            costEstimated[i] = r.CostEstimated;
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
            ttft, overhead, ttfb, streaming, userIds, costEstimated,
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
            var requestTruncated = new bool[m];
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
                requestTruncated[i] = p.RequestBodyTruncated;
            }
            var payloads = new NpgsqlBatchCommand(sql.UpsertPayloads);
            AddArrays(payloads, [pIds, pTimestamps, requestHeaders, requestBodies, responseStatuses, responseHeaders, responseBodies, truncated, rateLimited, attempted, requestTruncated], PayloadArrayTypes);
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

    internal static RequestRecord Read(NpgsqlDataReader reader, bool includePayload) =>
        RequestRowLayout.Read(
            reader,
            includePayload,
            static (r, ordinal) => PostgreSqlStore.Instant((NpgsqlDataReader)r, ordinal),
            static (r, ordinal) => r.GetDecimal(ordinal));

    private static string SerializeHeaders(IReadOnlyDictionary<string, string> headers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RequestRowLayout.WriteHeaders(writer, headers);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string SerializeList(IReadOnlyList<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RequestRowLayout.WriteList(writer, values);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
