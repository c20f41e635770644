using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Ccflare.Storage.Sqlite;

/// <summary>
/// <see cref="ICcflareStore"/> on a SQLite file (WAL, synchronous=NORMAL, foreign keys on).
/// </summary>
/// <remarks>
/// Writes go through one long-lived writer connection guarded by a <see cref="SemaphoreSlim"/>, so
/// writers in this process never contend for SQLite's lock and the request-batch commands stay
/// prepared across batches. Reads open pooled connections of their own and run concurrently with
/// the writer (WAL readers never block it). <c>busy_timeout</c> covers other processes.
/// </remarks>
internal sealed class SqliteStore : ICcflareStore, IDisposable, IAsyncDisposable
{
    private const int SqliteConstraint = 19;

    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;
    private readonly string _databasePath;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private SqliteConnection? _writer;
    private RequestWriteCommands? _requestCommands;
    private bool _disposed;

    public SqliteStore(SqliteStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            throw new ArgumentException("SqliteStorageOptions.DatabasePath must be set.", nameof(options));
        }
        _databasePath = Path.GetFullPath(options.DatabasePath);
        _busyTimeoutMs = (int)Math.Clamp(options.BusyTimeout.TotalMilliseconds, 0, int.MaxValue);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        }.ToString();
    }

    /// <summary>Full path of the database file.</summary>
    internal string DatabasePath => _databasePath;

    public Task InitializeAsync(CancellationToken cancellationToken) =>
        // Opening the writer creates the directory and migrates the schema.
        WriteAsync(static _ => true, cancellationToken);

    // Accounts

    private const string AccountColumns =
        "id, name, provider, auth_method, base_url, api_key, refresh_token, access_token, expires_at, created_at, last_used, " +
        "request_count, total_requests, weight, rate_limited_until, session_start, session_request_count, paused, " +
        "rate_limit_reset, rate_limit_status, rate_limit_remaining, token_status, token_status_reason, priority, usage_json";

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AccountColumns} FROM accounts ORDER BY created_at, rowid;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var accounts = new List<Account>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            accounts.Add(new Account
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
                CreatedAt = FromMs(reader.GetInt64(9)),
                LastUsed = GetInstant(reader, 10),
                RequestCount = reader.GetInt64(11),
                TotalRequests = reader.GetInt64(12),
                Weight = reader.GetInt32(13),
                RateLimitedUntil = GetInstant(reader, 14),
                SessionStart = GetInstant(reader, 15),
                SessionRequestCount = reader.GetInt64(16),
                Paused = reader.GetInt64(17) != 0,
                RateLimitReset = GetInstant(reader, 18),
                RateLimitStatus = GetString(reader, 19),
                RateLimitRemaining = GetInt64(reader, 20),
                TokenStatus = GetString(reader, 21),
                TokenStatusReason = GetString(reader, 22),
                Priority = reader.GetInt32(23),
                Usage = AccountUsage.Deserialize(GetString(reader, 24)),
            });
        }
        return accounts;
    }

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                INSERT INTO accounts ({AccountColumns}) VALUES (
                @id, @name, @provider, @auth_method, @base_url, @api_key, @refresh_token, @access_token, @expires_at, @created_at, @last_used,
                @request_count, @total_requests, @weight, @rate_limited_until, @session_start, @session_request_count, @paused,
                @rate_limit_reset, @rate_limit_status, @rate_limit_remaining, @token_status, @token_status_reason, @priority, @usage_json);
                """;
            BindAccount(command, account);
            return ExecuteIgnoringConstraint(command) == 1;
        }, cancellationToken);
    }

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE accounts SET name = @name, provider = @provider, auth_method = @auth_method, base_url = @base_url,
                api_key = @api_key, refresh_token = @refresh_token, access_token = @access_token, expires_at = @expires_at,
                created_at = @created_at, last_used = @last_used, request_count = @request_count, total_requests = @total_requests,
                weight = @weight, rate_limited_until = @rate_limited_until, session_start = @session_start,
                session_request_count = @session_request_count, paused = @paused, rate_limit_reset = @rate_limit_reset,
                rate_limit_status = @rate_limit_status, rate_limit_remaining = @rate_limit_remaining,
                token_status = @token_status, token_status_reason = @token_status_reason, priority = @priority, usage_json = @usage_json
                WHERE id = @id;
                """;
            BindAccount(command, account);
            return ExecuteIgnoringConstraint(command) == 1;
        }, cancellationToken);
    }

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(connection => ExecuteNonQuery(connection, "DELETE FROM accounts WHERE id = @id;", ("@id", id)) == 1, cancellationToken);

    private static void BindAccount(SqliteCommand command, Account account)
    {
        var p = command.Parameters;
        p.AddWithValue("@id", account.Id);
        p.AddWithValue("@name", account.Name);
        p.AddWithValue("@provider", account.Provider);
        p.AddWithValue("@auth_method", account.AuthMethod);
        p.AddWithValue("@base_url", Db(account.BaseUrl));
        p.AddWithValue("@api_key", Db(account.ApiKey));
        p.AddWithValue("@refresh_token", Db(account.RefreshToken));
        p.AddWithValue("@access_token", Db(account.AccessToken));
        p.AddWithValue("@expires_at", Db(account.ExpiresAt));
        p.AddWithValue("@created_at", ToMs(account.CreatedAt));
        p.AddWithValue("@last_used", Db(account.LastUsed));
        p.AddWithValue("@request_count", account.RequestCount);
        p.AddWithValue("@total_requests", account.TotalRequests);
        p.AddWithValue("@weight", account.Weight);
        p.AddWithValue("@rate_limited_until", Db(account.RateLimitedUntil));
        p.AddWithValue("@session_start", Db(account.SessionStart));
        p.AddWithValue("@session_request_count", account.SessionRequestCount);
        p.AddWithValue("@paused", account.Paused ? 1 : 0);
        p.AddWithValue("@rate_limit_reset", Db(account.RateLimitReset));
        p.AddWithValue("@rate_limit_status", Db(account.RateLimitStatus));
        p.AddWithValue("@rate_limit_remaining", account.RateLimitRemaining is { } remaining ? remaining : DBNull.Value);
        p.AddWithValue("@token_status", Db(account.TokenStatus));
        p.AddWithValue("@token_status_reason", Db(account.TokenStatusReason));
        p.AddWithValue("@priority", account.Priority);
        p.AddWithValue("@usage_json", account.Usage is { } usage ? AccountUsage.Serialize(usage) : DBNull.Value);
    }

    // Request history

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }
        return WriteAsync(connection =>
        {
            var commands = _requestCommands ??= new RequestWriteCommands(connection);
            using var transaction = connection.BeginTransaction(deferred: false);
            for (var i = 0; i < records.Count; i++)
            {
                commands.Write(records[i]);
            }
            transaction.Commit();
            return true;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return [];
        }
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = includePayloads
            ? $"SELECT {RequestRowLayout.SelectList}, {RequestRowLayout.PayloadSelectList} FROM requests r LEFT JOIN request_payloads p ON p.id = r.id ORDER BY r.timestamp DESC, r.rowid DESC LIMIT @limit;"
            : $"SELECT {RequestRowLayout.SelectList} FROM requests r ORDER BY r.timestamp DESC, r.rowid DESC LIMIT @limit;";
        command.Parameters.AddWithValue("@limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<RequestRecord>(Math.Min(limit, 1024));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(RequestColumns.Read(reader, includePayloads));
        }
        return records;
    }

    public async Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {RequestRowLayout.SelectList}, {RequestRowLayout.PayloadSelectList} FROM requests r LEFT JOIN request_payloads p ON p.id = r.id WHERE r.id = @id;";
        command.Parameters.AddWithValue("@id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? RequestColumns.Read(reader, includePayload: true) : null;
    }

    public async IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT ").Append(RequestRowLayout.SelectList).Append(" FROM requests r WHERE 1 = 1");
        if (query.From is { } from)
        {
            sql.Append(" AND r.timestamp >= @from");
            command.Parameters.AddWithValue("@from", ToMs(from));
        }
        if (query.To is { } to)
        {
            sql.Append(" AND r.timestamp < @to");
            command.Parameters.AddWithValue("@to", ToMs(to));
        }
        AppendIn(sql, command, "r.account_used", "@a", query.AccountIds);
        AppendIn(sql, command, "r.model", "@m", query.Models);
        AppendIn(sql, command, "r.user_id", "@u", query.UserIds);
        AppendIn(sql, command, "r.client_session_id", "@c", query.ClientSessionIds);
        switch (query.Status)
        {
            case RequestStatusFilter.Success:
                sql.Append(" AND r.success = 1");
                break;
            case RequestStatusFilter.Error:
                sql.Append(" AND r.success = 0");
                break;
        }
        sql.Append(" ORDER BY r.timestamp, r.rowid;");
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return RequestColumns.Read(reader, includePayload: false);
        }
    }

    private static void AppendIn(StringBuilder sql, SqliteCommand command, string column, string prefix, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }
        sql.Append(" AND ").Append(column).Append(" IN (");
        for (var i = 0; i < values.Count; i++)
        {
            var name = prefix + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "" : ", ").Append(name);
            command.Parameters.AddWithValue(name, values[i]);
        }
        sql.Append(')');
    }

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken) =>
        WriteAsync(connection =>
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            long deleted;
            if (olderThan is { } cutoff)
            {
                var ms = ToMs(cutoff);
                ExecuteNonQuery(connection, "DELETE FROM request_payloads WHERE id IN (SELECT id FROM requests WHERE timestamp < @cutoff);", ("@cutoff", ms), transaction);
                deleted = ExecuteNonQuery(connection, "DELETE FROM requests WHERE timestamp < @cutoff;", ("@cutoff", ms), transaction);
            }
            else
            {
                ExecuteNonQuery(connection, "DELETE FROM request_payloads;", null, transaction);
                deleted = ExecuteNonQuery(connection, "DELETE FROM requests;", null, transaction);
            }
            transaction.Commit();
            return deleted;
        }, cancellationToken);

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
        WriteAsync(connection => (long)ExecuteNonQuery(connection,
            "DELETE FROM request_payloads WHERE id IN (SELECT id FROM requests WHERE timestamp < @cutoff);", ("@cutoff", ToMs(olderThan))),
            cancellationToken);

    public Task CompactAsync(CancellationToken cancellationToken) =>
        WriteAsync(connection =>
        {
            // VACUUM rewrites the main file through the WAL; the checkpoints fold the WAL back and truncate it.
            ExecuteNonQuery(connection, "PRAGMA wal_checkpoint(TRUNCATE);", null);
            ExecuteNonQuery(connection, "VACUUM;", null);
            ExecuteNonQuery(connection, "PRAGMA wal_checkpoint(TRUNCATE);", null);
            return true;
        }, cancellationToken);

    // Settings

    public async Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, value FROM settings;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            settings[reader.GetString(0)] = reader.GetString(1);
        }
        return settings;
    }

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(connection => ExecuteNonQuery(connection,
            "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
            ("@key", key), ("@value", value)), cancellationToken);

    // OAuth sign-in sessions

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return WriteAsync(connection => ExecuteNonQuery(connection, """
            INSERT OR REPLACE INTO auth_sessions (id, provider, auth_method, account_name, state_json, created_at, expires_at)
            VALUES (@id, @provider, @auth_method, @account_name, @state_json, @created_at, @expires_at);
            """,
            ("@id", session.Id), ("@provider", session.Provider), ("@auth_method", session.AuthMethod),
            ("@account_name", session.AccountName), ("@state_json", session.StateJson),
            ("@created_at", ToMs(session.CreatedAt)), ("@expires_at", ToMs(session.ExpiresAt))), cancellationToken);
    }

    public async Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, provider, auth_method, account_name, state_json, created_at, expires_at FROM auth_sessions WHERE id = @id;";
        command.Parameters.AddWithValue("@id", id);
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
            CreatedAt = FromMs(reader.GetInt64(5)),
            ExpiresAt = FromMs(reader.GetInt64(6)),
        };
    }

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(connection => ExecuteNonQuery(connection, "DELETE FROM auth_sessions WHERE id = @id;", ("@id", id)) == 1, cancellationToken);

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(connection => ExecuteNonQuery(connection, "DELETE FROM auth_sessions WHERE expires_at <= @now;", ("@now", ToMs(now))), cancellationToken);

    // Access-key users

    public async Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, access_key_hash, created_at FROM users ORDER BY created_at, rowid;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var users = new List<AccessKeyUser>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            users.Add(new AccessKeyUser
            {
                Id = reader.GetString(0),
                Name = reader.GetString(1),
                AccessKeyHash = reader.GetString(2),
                CreatedAt = FromMs(reader.GetInt64(3)),
            });
        }
        return users;
    }

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (id, name, access_key_hash, created_at) VALUES (@id, @name, @hash, @created_at);";
            command.Parameters.AddWithValue("@id", user.Id);
            command.Parameters.AddWithValue("@name", user.Name);
            command.Parameters.AddWithValue("@hash", user.AccessKeyHash);
            command.Parameters.AddWithValue("@created_at", ToMs(user.CreatedAt));
            return ExecuteIgnoringConstraint(command) == 1;
        }, cancellationToken);
    }

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(connection => ExecuteNonQuery(connection, "DELETE FROM users WHERE id = @id;", ("@id", id)) == 1, cancellationToken);

    // Connections

    private async Task<SqliteConnection> OpenReadConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _writer) is null)
        {
            // Not initialized yet: open the writer first, which creates and migrates the file.
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            ApplyConnectionPragmas(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void ApplyConnectionPragmas(SqliteConnection connection) =>
        ExecuteNonQuery(connection,
            "PRAGMA busy_timeout = " + _busyTimeoutMs.ToString(CultureInfo.InvariantCulture) + "; PRAGMA synchronous = NORMAL;", null);

    /// <summary>Runs <paramref name="work"/> on the writer connection, one caller at a time.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is null)
            {
                var directory = Path.GetDirectoryName(_databasePath);
                if (!string.IsNullOrEmpty(directory))
                {
                    PrivateFiles.EnsureDirectory(directory);
                }
                PrivateFiles.EnsureFile(_databasePath);
                var writer = new SqliteConnection(_connectionString);
                try
                {
                    writer.Open();
                    ApplyConnectionPragmas(writer);
                    SqliteSchema.Migrate(writer);
                }
                catch
                {
                    writer.Dispose();
                    throw;
                }
                _writer = writer;
            }
            return work(_writer);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static int ExecuteNonQuery(SqliteConnection connection, string sql, params (string Name, object? Value)[]? parameters) =>
        ExecuteNonQuery(connection, sql, parameters, null);

    private static int ExecuteNonQuery(SqliteConnection connection, string sql, (string Name, object? Value) parameter, SqliteTransaction? transaction) =>
        ExecuteNonQuery(connection, sql, [parameter], transaction);

    private static int ExecuteNonQuery(SqliteConnection connection, string sql, (string Name, object? Value)[]? parameters, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        if (parameters is not null)
        {
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }
        }
        return command.ExecuteNonQuery();
    }

    private static int ExecuteIgnoringConstraint(SqliteCommand command)
    {
        try
        {
            return command.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _requestCommands?.Dispose();
            _requestCommands = null;
            if (_writer is not null)
            {
                SqliteConnection.ClearPool(_writer);
                _writer.Dispose();
                _writer = null;
            }
            else
            {
                using var connection = new SqliteConnection(_connectionString);
                SqliteConnection.ClearPool(connection);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    // Value conversions

    internal static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    internal static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    internal static object Db(string? value) => value is null ? DBNull.Value : value;

    internal static object Db(DateTimeOffset? value) => value is { } instant ? ToMs(instant) : DBNull.Value;

    internal static string? GetString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal static long? GetInt64(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    internal static DateTimeOffset? GetInstant(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : FromMs(reader.GetInt64(ordinal));
}
