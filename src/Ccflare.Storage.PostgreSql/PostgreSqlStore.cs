using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// <see cref="ICcflareStore"/> on a PostgreSQL database that several Ccflare replicas share.
/// </summary>
/// <remarks>
/// Every call takes a connection from Npgsql's pool, so replicas and callers in one replica run
/// concurrently and PostgreSQL's MVCC does the isolation. History batches are one round trip: a
/// multi-row upsert fed by one array parameter per column. Writes to accounts, settings and users
/// fire a trigger that NOTIFYs the other replicas (<see cref="ICcflareStoreChangeFeed"/>); OAuth
/// token refreshes are serialized across replicas with a session advisory lock
/// (<see cref="ICcflareStoreLocks"/>).
/// </remarks>
internal sealed class PostgreSqlStore : ICcflareStore, ICcflareStoreChangeFeed, ICcflareStoreLocks, ICcflareRequestAggregates, ICcflareAccountStateUpdates, IAsyncDisposable, IDisposable
{
    private const string UniqueViolation = "23505";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly string _s;
    private readonly int _retentionBatchSize;
    private readonly (string UpsertRequests, string DeletePayloads, string UpsertPayloads) _writeSql;
    private readonly PostgreSqlChangeListener? _listener;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialized;
    private bool _disposed;

    public PostgreSqlStore(PostgreSqlStorageOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("PostgreSqlStorageOptions.ConnectionString must be set.", nameof(options));
        }
        if (!PostgreSqlSchema.IsValidSchemaName(options.Schema))
        {
            throw new ArgumentException(
                $"PostgreSqlStorageOptions.Schema must be lower-case letters, digits and underscores, not starting with a digit (was '{options.Schema}').", nameof(options));
        }
        if (options.RetentionBatchSize < 1)
        {
            throw new ArgumentException("PostgreSqlStorageOptions.RetentionBatchSize must be at least 1.", nameof(options));
        }
        loggerFactory ??= NullLoggerFactory.Instance;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "ccflare";
        }
        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).UseLoggerFactory(loggerFactory).Build();
        _schema = options.Schema;
        _s = PostgreSqlSchema.QuoteIdentifier(options.Schema);
        _retentionBatchSize = options.RetentionBatchSize;
        _writeSql = PostgreSqlRequestRows.WriteSql(_s);
        if (options.ListenForChanges)
        {
            _listener = new PostgreSqlChangeListener(builder.ConnectionString, _schema, loggerFactory.CreateLogger<PostgreSqlStore>());
        }
        Host = builder.Host;
        Database = builder.Database;
    }

    /// <summary>The LISTEN connection, when <see cref="PostgreSqlStorageOptions.ListenForChanges"/> is on.</summary>
    internal PostgreSqlChangeListener? Listener => _listener;

    /// <summary>Host from the connection string (for diagnostics and tests).</summary>
    internal string? Host { get; }

    /// <summary>Database from the connection string.</summary>
    internal string? Database { get; }

    /// <summary>Schema holding the tables.</summary>
    internal string Schema => _schema;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await PostgreSqlSchema.MigrateAsync(connection, _schema, cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>The quoted schema, for SQL of this package.</summary>
    internal string QuotedSchema => _s;

    /// <summary>An open connection for the synchronous Data Protection repository; migrates first when needed.</summary>
    internal NpgsqlConnection OpenSynchronously()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            // Data Protection's repository API is synchronous; this runs once, before the first key is read.
            Task.Run(() => InitializeAsync(CancellationToken.None)).GetAwaiter().GetResult();
        }
        return _dataSource.OpenConnection();
    }

    private async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    // Accounts

    private const string AccountColumns =
        "id, name, provider, auth_method, base_url, api_key, refresh_token, access_token, expires_at, created_at, last_used, " +
        "request_count, total_requests, weight, rate_limited_until, session_start, session_request_count, paused, " +
        "rate_limit_reset, rate_limit_status, rate_limit_remaining, token_status, token_status_reason, priority, usage_json";

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken) =>
        await ReadListAsync($"SELECT {AccountColumns} FROM {_s}.accounts ORDER BY created_at, seq;", ReadAccount, null, 0, cancellationToken).ConfigureAwait(false);

    /// <summary>Runs <paramref name="sql"/> and reads every row with <paramref name="read"/>.</summary>
    private async Task<List<T>> ReadListAsync<T>(
        string sql, Func<NpgsqlDataReader, T> read, NpgsqlParameter? parameter, int capacity, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        if (parameter is not null)
        {
            command.Parameters.Add(parameter);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<T>(capacity);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(read(reader));
        }
        return items;
    }

    private static Account ReadAccount(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Name = reader.GetString(1),
        Provider = reader.GetString(2),
        AuthMethod = reader.GetString(3),
        BaseUrl = GetString(reader, 4),
        ApiKey = GetString(reader, 5),
        RefreshToken = GetString(reader, 6),
        AccessToken = GetString(reader, 7),
        ExpiresAt = GetInstant(reader, 8),
        CreatedAt = Instant(reader, 9),
        LastUsed = GetInstant(reader, 10),
        RequestCount = reader.GetInt64(11),
        TotalRequests = reader.GetInt64(12),
        Weight = reader.GetInt32(13),
        RateLimitedUntil = GetInstant(reader, 14),
        SessionStart = GetInstant(reader, 15),
        SessionRequestCount = reader.GetInt64(16),
        Paused = reader.GetBoolean(17),
        RateLimitReset = GetInstant(reader, 18),
        RateLimitStatus = GetString(reader, 19),
        RateLimitRemaining = GetInt64(reader, 20),
        TokenStatus = GetString(reader, 21),
        TokenStatusReason = GetString(reader, 22),
        Priority = reader.GetInt32(23),
        Usage = AccountUsage.Deserialize(GetString(reader, 24)),
    };

    public async Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {_s}.accounts ({AccountColumns}) VALUES (
            @id, @name, @provider, @auth_method, @base_url, @api_key, @refresh_token, @access_token, @expires_at, @created_at, @last_used,
            @request_count, @total_requests, @weight, @rate_limited_until, @session_start, @session_request_count, @paused,
            @rate_limit_reset, @rate_limit_status, @rate_limit_remaining, @token_status, @token_status_reason, @priority, @usage_json)
            ON CONFLICT DO NOTHING;
            """, connection);
        BindAccount(command, account);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Replaces the row, with two guards for replicas writing from memory that may be a moment old: an OAuth
    /// token is never replaced by one that expires earlier (another replica refreshed it meanwhile; its
    /// token status stays too), and <c>rate_limited_until</c> never moves back.
    /// </summary>
    public async Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        const string Fresher = "a.expires_at > @expires_at";
        await using var command = new NpgsqlCommand($"""
            UPDATE {_s}.accounts a SET name = @name, provider = @provider, auth_method = @auth_method, base_url = @base_url,
            api_key = @api_key,
            refresh_token = CASE WHEN {Fresher} THEN a.refresh_token ELSE @refresh_token END,
            access_token = CASE WHEN {Fresher} THEN a.access_token ELSE @access_token END,
            token_status = CASE WHEN {Fresher} THEN a.token_status ELSE @token_status END,
            token_status_reason = CASE WHEN {Fresher} THEN a.token_status_reason ELSE @token_status_reason END,
            expires_at = CASE WHEN {Fresher} THEN a.expires_at ELSE @expires_at END,
            created_at = @created_at, last_used = @last_used, request_count = @request_count, total_requests = @total_requests,
            weight = @weight, rate_limited_until = GREATEST(a.rate_limited_until, @rate_limited_until), session_start = @session_start,
            session_request_count = @session_request_count, paused = @paused, rate_limit_reset = @rate_limit_reset,
            rate_limit_status = @rate_limit_status, rate_limit_remaining = @rate_limit_remaining,
            priority = @priority, usage_json = @usage_json
            WHERE a.id = @id;
            """, connection);
        BindAccount(command, account);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (PostgresException ex) when (ex.SqlState == UniqueViolation)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes only the proxy's fields in one statement, so it never puts back operator fields another replica
    /// just changed; <c>rate_limited_until</c> only moves forward (<c>GREATEST</c> ignores nulls).
    /// </summary>
    public async Task<bool> UpdateAccountStateAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            UPDATE {_s}.accounts SET request_count = @request_count, total_requests = @total_requests, last_used = @last_used,
            session_start = @session_start, session_request_count = @session_request_count,
            rate_limited_until = GREATEST(rate_limited_until, @rate_limited_until), rate_limit_reset = @rate_limit_reset,
            rate_limit_status = @rate_limit_status, rate_limit_remaining = @rate_limit_remaining, usage_json = @usage_json
            WHERE id = @id;
            """, connection);
        var p = command.Parameters;
        p.Add(Text("id", account.Id));
        p.Add(new NpgsqlParameter<long>("request_count", account.RequestCount));
        p.Add(new NpgsqlParameter<long>("total_requests", account.TotalRequests));
        p.Add(Time("last_used", account.LastUsed));
        p.Add(Time("session_start", account.SessionStart));
        p.Add(new NpgsqlParameter<long>("session_request_count", account.SessionRequestCount));
        p.Add(Time("rate_limited_until", account.RateLimitedUntil));
        p.Add(Time("rate_limit_reset", account.RateLimitReset));
        p.Add(Text("rate_limit_status", account.RateLimitStatus));
        p.Add(new NpgsqlParameter("rate_limit_remaining", NpgsqlDbType.Bigint) { Value = account.RateLimitRemaining is { } r ? r : DBNull.Value });
        p.Add(UsageJson(account));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) =>
        await ExecuteAsync($"DELETE FROM {_s}.accounts WHERE id = @id;", cancellationToken, ("id", id)).ConfigureAwait(false) == 1;

    private static void BindAccount(NpgsqlCommand command, Account account)
    {
        var p = command.Parameters;
        p.Add(Text("id", account.Id));
        p.Add(Text("name", account.Name));
        p.Add(Text("provider", account.Provider));
        p.Add(Text("auth_method", account.AuthMethod));
        p.Add(Text("base_url", account.BaseUrl));
        p.Add(Text("api_key", account.ApiKey));
        p.Add(Text("refresh_token", account.RefreshToken));
        p.Add(Text("access_token", account.AccessToken));
        p.Add(Time("expires_at", account.ExpiresAt));
        p.Add(Time("created_at", account.CreatedAt));
        p.Add(Time("last_used", account.LastUsed));
        p.Add(new NpgsqlParameter<long>("request_count", account.RequestCount));
        p.Add(new NpgsqlParameter<long>("total_requests", account.TotalRequests));
        p.Add(new NpgsqlParameter<int>("weight", account.Weight));
        p.Add(Time("rate_limited_until", account.RateLimitedUntil));
        p.Add(Time("session_start", account.SessionStart));
        p.Add(new NpgsqlParameter<long>("session_request_count", account.SessionRequestCount));
        p.Add(new NpgsqlParameter<bool>("paused", account.Paused));
        p.Add(Time("rate_limit_reset", account.RateLimitReset));
        p.Add(Text("rate_limit_status", account.RateLimitStatus));
        p.Add(new NpgsqlParameter("rate_limit_remaining", NpgsqlDbType.Bigint) { Value = account.RateLimitRemaining is { } r ? r : DBNull.Value });
        p.Add(Text("token_status", account.TokenStatus));
        p.Add(Text("token_status_reason", account.TokenStatusReason));
        p.Add(new NpgsqlParameter<int>("priority", account.Priority));
        p.Add(UsageJson(account));
    }

    private static NpgsqlParameter UsageJson(Account account) =>
        Text("usage_json", account.Usage is { } usage ? AccountUsage.Serialize(usage) : null);

    // Request history

    public async Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // A batch without an explicit transaction runs in one implicit transaction: all or nothing, one round trip.
        await using var batch = PostgreSqlRequestRows.CreateWriteBatch(connection, _writeSql, records);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return [];
        }
        var sql = includePayloads
            ? $"SELECT {PostgreSqlRequestRows.SelectList}, {PostgreSqlRequestRows.PayloadSelectList} FROM {_s}.requests r LEFT JOIN {_s}.request_payloads p ON p.id = r.id ORDER BY r.timestamp DESC, r.seq DESC LIMIT @limit;"
            : $"SELECT {PostgreSqlRequestRows.SelectList} FROM {_s}.requests r ORDER BY r.timestamp DESC, r.seq DESC LIMIT @limit;";
        return await ReadListAsync(sql, reader => PostgreSqlRequestRows.Read(reader, includePayloads), new NpgsqlParameter<int>("limit", limit),
            Math.Min(limit, 1024), cancellationToken).ConfigureAwait(false);
    }

    public async Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"SELECT {PostgreSqlRequestRows.SelectList}, {PostgreSqlRequestRows.PayloadSelectList} FROM {_s}.requests r LEFT JOIN {_s}.request_payloads p ON p.id = r.id WHERE r.id = @id;",
            connection);
        command.Parameters.Add(Text("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? PostgreSqlRequestRows.Read(reader, includePayload: true) : null;
    }

    public async IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        var sql = new StringBuilder("SELECT ").Append(PostgreSqlRequestRows.SelectList).Append(" FROM ").Append(_s).Append(".requests r");
        AppendWhere(sql, command, query);
        sql.Append(" ORDER BY r.timestamp, r.seq;");
        command.CommandText = sql.ToString();
        // Rows stream from the socket as they are read; nothing is buffered beyond Npgsql's read buffer.
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return PostgreSqlRequestRows.Read(reader, includePayload: false);
        }
    }

    /// <summary>The WHERE clause of <paramref name="query"/> over <c>requests r</c>.</summary>
    private static void AppendWhere(StringBuilder sql, NpgsqlCommand command, RequestQuery query)
    {
        sql.Append(" WHERE true");
        AppendFilters(sql, query, "r", time: true);
        AddFilterParameters(command, query);
    }

    /// <summary>
    /// The conditions of <paramref name="query"/> on rows aliased <paramref name="alias"/> (request rows or
    /// rollups, which have the same column names), the time bounds only when <paramref name="time"/>.
    /// The parameters come from <see cref="AddFilterParameters"/>.
    /// </summary>
    private static void AppendFilters(StringBuilder sql, RequestQuery query, string alias, bool time, bool accounts = true)
    {
        if (time && query.From is not null)
        {
            sql.Append(" AND ").Append(alias).Append(".timestamp >= @from");
        }
        if (time && query.To is not null)
        {
            sql.Append(" AND ").Append(alias).Append(".timestamp < @to");
        }
        if (accounts)
        {
            AppendAny(sql, alias, "account_used", "accounts", query.AccountIds);
        }
        AppendAny(sql, alias, "model", "models", query.Models);
        AppendAny(sql, alias, "user_id", "users", query.UserIds);
        AppendAny(sql, alias, "client_session_id", "sessions", query.ClientSessionIds);
        switch (query.Status)
        {
            case RequestStatusFilter.Success:
                sql.Append(" AND ").Append(alias).Append(".success");
                break;
            case RequestStatusFilter.Error:
                sql.Append(" AND NOT ").Append(alias).Append(".success");
                break;
        }
    }

    private static void AppendAny(StringBuilder sql, string alias, string column, string name, IReadOnlyList<string> values)
    {
        if (values.Count > 0)
        {
            sql.Append(" AND ").Append(alias).Append('.').Append(column).Append(" = ANY(@").Append(name).Append(')');
        }
    }

    private static void AddFilterParameters(NpgsqlCommand command, RequestQuery query)
    {
        if (query.From is { } from)
        {
            command.Parameters.Add(Time("from", from));
        }
        if (query.To is { } to)
        {
            command.Parameters.Add(Time("to", to));
        }
        AddArray(command, "accounts", query.AccountIds);
        AddArray(command, "models", query.Models);
        AddArray(command, "users", query.UserIds);
        AddArray(command, "sessions", query.ClientSessionIds);
    }

    private static void AddArray(NpgsqlCommand command, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }
        var array = new string[values.Count];
        for (var i = 0; i < array.Length; i++)
        {
            array[i] = values[i];
        }
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = array });
    }

    private static void AddSplitParameters(NpgsqlCommand command, HourSplit split)
    {
        if (split.First is { } first)
        {
            command.Parameters.Add(Time("hours_from", first));
        }
        if (split.End is { } end)
        {
            command.Parameters.Add(Time("hours_to", end));
        }
    }

    // Aggregates (ICcflareRequestAggregates): analytics read groups, not rows; whole hours come from the
    // rollups (PostgreSqlRollups), partial hours at the edges of a range from the rows.

    public async IAsyncEnumerable<RequestGroup> AggregateRequestsAsync(RequestQuery query, TimeSpan bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection, CommandTimeout = 0 };
        var buckets = bucket > TimeSpan.Zero;
        if (buckets)
        {
            // date_bin counts whole strides from the Unix epoch in integer microseconds: the calculator's buckets.
            command.Parameters.Add(new NpgsqlParameter("bucket", NpgsqlDbType.Interval) { Value = bucket });
        }
        AddFilterParameters(command, query);
        var rowGroups = new StringBuilder("SELECT ").Append(PostgreSqlRollups.BucketOf("r.timestamp", buckets))
            .Append(", coalesce(r.model, ''), coalesce(r.account_used, ''), coalesce(r.account_name, ''), coalesce(r.provider, ''), r.success, ")
            .Append(PostgreSqlRollups.Sums()).Append(" FROM ").Append(_s).Append(".requests r");
        StringBuilder sql;
        if (PostgreSqlRollups.TrySplit(query, bucket, out var split))
        {
            AddSplitParameters(command, split);
            sql = new StringBuilder("SELECT b, model, account_used, account_name, provider, success, ").Append(PostgreSqlRollups.Resums)
                .Append(" FROM (SELECT ").Append(PostgreSqlRollups.BucketOf("x.hour", buckets))
                .Append(" AS b, x.model, x.account_used, x.account_name, x.provider, x.success, ").Append(PostgreSqlRollups.SumColumnList("x"))
                .Append(" FROM ").Append(_s).Append(".request_rollups x");
            PostgreSqlRollups.AppendHours(sql, split);
            AppendFilters(sql, query, "x", time: false);
            if (PostgreSqlRollups.AppendEdges(rowGroups, query, split))
            {
                AppendFilters(rowGroups, query, "r", time: false);
                sql.Append(" UNION ALL ").Append(rowGroups).Append(" GROUP BY 1, 2, 3, 4, 5, 6");
            }
            sql.Append(") g GROUP BY 1, 2, 3, 4, 5, 6;");
        }
        else
        {
            sql = rowGroups.Append(" WHERE true");
            AppendFilters(sql, query, "r", time: true);
            sql.Append(" GROUP BY 1, 2, 3, 4, 5, 6;");
        }
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new RequestGroup
            {
                BucketStart = Instant(reader, 0),
                Model = NonEmpty(reader, 1),
                AccountUsed = NonEmpty(reader, 2),
                AccountName = NonEmpty(reader, 3),
                Provider = NonEmpty(reader, 4),
                Success = reader.GetBoolean(5),
                Requests = reader.GetInt64(6),
                TotalTokens = reader.GetInt64(7),
                CostUsd = reader.GetDecimal(8),
                ResponseTimeSumMs = reader.GetDouble(9),
                ResponseTimeCount = reader.GetInt64(10),
                TokensPerSecondSum = reader.GetDouble(11),
                TokensPerSecondCount = reader.GetInt64(12),
                TokensPerSecondMin = reader.IsDBNull(13) ? null : reader.GetDouble(13),
                TokensPerSecondMax = reader.IsDBNull(14) ? null : reader.GetDouble(14),
                InputTokens = reader.GetInt64(15),
                CacheReadInputTokens = reader.GetInt64(16),
                CacheCreationInputTokens = reader.GetInt64(17),
                OutputTokens = reader.GetInt64(18),
            };
        }
    }

    /// <summary>
    /// From the latency histograms (within 1%, see <see cref="PostgreSqlRollups"/>) unless the query
    /// filters by account, which the histograms do not record; then exactly, from the rows.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, double>> ResponseTimePercentilesAsync(RequestQuery query, double percentile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection, CommandTimeout = 0 };
        AddFilterParameters(command, query);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (query.AccountIds.Count > 0 || !PostgreSqlRollups.TrySplit(query, TimeSpan.Zero, out var split))
        {
            // percentile_disc is the nearest-rank method: the value at position ceil(fraction * n).
            var exact = new StringBuilder($"SELECT r.model, percentile_disc(@fraction) WITHIN GROUP (ORDER BY r.response_time_ms) FROM {_s}.requests r WHERE true");
            command.Parameters.Add(new NpgsqlParameter<double>("fraction", percentile / 100.0));
            AppendFilters(exact, query, "r", time: true);
            exact.Append(" AND r.model IS NOT NULL AND r.response_time_ms IS NOT NULL GROUP BY r.model;");
            command.CommandText = exact.ToString();
            await using var exactReader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await exactReader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result[exactReader.GetString(0)] = exactReader.GetDouble(1);
            }
            return result;
        }

        AddSplitParameters(command, split);
        var sql = new StringBuilder("SELECT model, bucket, sum(n)::bigint FROM (")
            .Append("SELECT x.model, array_lower(x.histogram, 1) + u.o::integer - 1 AS bucket, u.n::bigint AS n FROM ").Append(_s)
            .Append(".request_latency_rollups x CROSS JOIN LATERAL unnest(x.histogram) WITH ORDINALITY AS u(n, o)");
        PostgreSqlRollups.AppendHours(sql, split);
        AppendFilters(sql, query, "x", time: false, accounts: false);
        sql.Append(" AND u.n > 0");
        var edges = new StringBuilder("SELECT r.model, ").Append(_s).Append(".ccflare_latency_bucket(r.response_time_ms), count(*) FROM ").Append(_s).Append(".requests r");
        if (PostgreSqlRollups.AppendEdges(edges, query, split))
        {
            AppendFilters(edges, query, "r", time: false);
            sql.Append(" UNION ALL ").Append(edges).Append(" AND r.model IS NOT NULL AND r.response_time_ms IS NOT NULL GROUP BY 1, 2");
        }
        sql.Append(") h GROUP BY 1, 2;");
        command.CommandText = sql.ToString();
        var histograms = new Dictionary<string, List<(int Bucket, long Count)>>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var model = reader.GetString(0);
                if (!histograms.TryGetValue(model, out var histogram))
                {
                    histograms[model] = histogram = [];
                }
                histogram.Add((reader.GetInt32(1), reader.GetInt64(2)));
            }
        }
        foreach (var (model, histogram) in histograms)
        {
            result[model] = PostgreSqlRollups.Percentile(histogram, percentile);
        }
        return result;
    }

    /// <summary>A rollup key column: <c>''</c> stands for NULL.</summary>
    private static string? NonEmpty(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) || reader.GetString(ordinal) is not { Length: > 0 } value ? null : value;

    /// <summary>Deletes in batches of <see cref="PostgreSqlStorageOptions.RetentionBatchSize"/>, each its own transaction, so no delete holds locks for long.</summary>
    public async Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken)
    {
        if (olderThan is null)
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            // TRUNCATE is not MVCC-safe for concurrent readers; a plain delete keeps them consistent.
            // Payloads go with their rows (ON DELETE CASCADE), so the count is of requests only.
            await using var delete = new NpgsqlCommand($"DELETE FROM {_s}.requests;", connection) { CommandTimeout = 0 };
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // Payloads go with their rows (ON DELETE CASCADE).
        return await DeleteInBatchesAsync(
            $"DELETE FROM {_s}.requests WHERE id IN (SELECT id FROM {_s}.requests WHERE timestamp < @cutoff ORDER BY timestamp LIMIT @batch);",
            olderThan.Value, cancellationToken).ConfigureAwait(false);
    }

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
        DeleteInBatchesAsync(
            $"DELETE FROM {_s}.request_payloads WHERE id IN (SELECT id FROM {_s}.request_payloads WHERE timestamp < @cutoff ORDER BY timestamp LIMIT @batch);",
            olderThan, cancellationToken);

    private async Task<long> DeleteInBatchesAsync(string sql, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(Time("cutoff", cutoff));
        command.Parameters.Add(new NpgsqlParameter<int>("batch", _retentionBatchSize));
        long total = 0;
        while (true)
        {
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < _retentionBatchSize)
            {
                return total;
            }
        }
    }

    /// <summary>
    /// <c>VACUUM (ANALYZE)</c> of the history tables: marks the space of deleted rows reusable and
    /// refreshes the planner's statistics, without the exclusive lock of <c>VACUUM FULL</c> (which
    /// would stop every replica's writes).
    /// </summary>
    public async Task CompactAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"VACUUM (ANALYZE) {_s}.requests, {_s}.request_payloads;", connection);
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Settings

    public async Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT key, value FROM {_s}.settings;", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            settings[reader.GetString(0)] = reader.GetString(1);
        }
        return settings;
    }

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) =>
        ExecuteAsync($"INSERT INTO {_s}.settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
            cancellationToken, ("key", key), ("value", value));

    // OAuth sign-in sessions

    public async Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {_s}.auth_sessions (id, provider, auth_method, account_name, state_json, created_at, expires_at)
            VALUES (@id, @provider, @auth_method, @account_name, @state_json, @created_at, @expires_at)
            ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, auth_method = excluded.auth_method,
            account_name = excluded.account_name, state_json = excluded.state_json, created_at = excluded.created_at, expires_at = excluded.expires_at;
            """, connection);
        command.Parameters.Add(Text("id", session.Id));
        command.Parameters.Add(Text("provider", session.Provider));
        command.Parameters.Add(Text("auth_method", session.AuthMethod));
        command.Parameters.Add(Text("account_name", session.AccountName));
        command.Parameters.Add(Text("state_json", session.StateJson));
        command.Parameters.Add(Time("created_at", session.CreatedAt));
        command.Parameters.Add(Time("expires_at", session.ExpiresAt));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"SELECT id, provider, auth_method, account_name, state_json, created_at, expires_at FROM {_s}.auth_sessions WHERE id = @id;", connection);
        command.Parameters.Add(Text("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        return new AuthSession
        {
            Id = reader.GetString(0),
            Provider = reader.GetString(1),
            AuthMethod = reader.GetString(2),
            AccountName = reader.GetString(3),
            StateJson = reader.GetString(4),
            CreatedAt = Instant(reader, 5),
            ExpiresAt = Instant(reader, 6),
        };
    }

    public async Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) =>
        await ExecuteAsync($"DELETE FROM {_s}.auth_sessions WHERE id = @id;", cancellationToken, ("id", id)).ConfigureAwait(false) == 1;

    public async Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"DELETE FROM {_s}.auth_sessions WHERE expires_at <= @now;", connection);
        command.Parameters.Add(Time("now", now));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Access-key users

    public async Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) =>
        await ReadListAsync($"SELECT id, name, access_key_hash, created_at FROM {_s}.users ORDER BY created_at, seq;", static reader => new AccessKeyUser
        {
            Id = reader.GetString(0),
            Name = reader.GetString(1),
            AccessKeyHash = reader.GetString(2),
            CreatedAt = Instant(reader, 3),
        }, null, 0, cancellationToken).ConfigureAwait(false);

    public async Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"INSERT INTO {_s}.users (id, name, access_key_hash, created_at) VALUES (@id, @name, @hash, @created_at) ON CONFLICT DO NOTHING;", connection);
        command.Parameters.Add(Text("id", user.Id));
        command.Parameters.Add(Text("name", user.Name));
        command.Parameters.Add(Text("hash", user.AccessKeyHash));
        command.Parameters.Add(Time("created_at", user.CreatedAt));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) =>
        await ExecuteAsync($"DELETE FROM {_s}.users WHERE id = @id;", cancellationToken, ("id", id)).ConfigureAwait(false) == 1;

    // Change feed and locks

    public IDisposable Subscribe(Action<StoreChanges> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_listener is null)
        {
            return NoSubscription.Instance;
        }
        return _listener.Subscribe(listener);
    }

    /// <summary>
    /// Takes a session-level advisory lock keyed by the schema and <paramref name="key"/> on a pooled
    /// connection, held until the result is disposed. A replica that dies releases it with its connection.
    /// </summary>
    public async Task<IAsyncDisposable> AcquireLockAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(@class, hashtext(@key));", connection);
            command.Parameters.Add(new NpgsqlParameter<int>("class", PostgreSqlSchema.AdvisoryLockClass));
            command.Parameters.Add(Text("key", _schema + ":" + key));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return new AdvisoryLock(connection, _schema + ":" + key);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed class AdvisoryLock(NpgsqlConnection connection, string key) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@class, hashtext(@key));", connection);
                command.Parameters.Add(new NpgsqlParameter<int>("class", PostgreSqlSchema.AdvisoryLockClass));
                command.Parameters.Add(Text("key", key));
                await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                // The connection broke: the server released the lock with the session. Never pool it.
                NpgsqlConnection.ClearPool(connection);
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }

    // Helpers

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, string Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(Text(name, value));
        }
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = value is null ? DBNull.Value : value };

    private static NpgsqlParameter Time(string name, DateTimeOffset? value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value is { } instant ? instant.UtcDateTime : DBNull.Value };

    internal static string? GetString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal static long? GetInt64(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    internal static DateTimeOffset Instant(NpgsqlDataReader reader, int ordinal) =>
        new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    internal static DateTimeOffset? GetInstant(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Instant(reader, ordinal);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _initGate.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
