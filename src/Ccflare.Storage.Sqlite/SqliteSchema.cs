using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Ccflare.Storage.Sqlite;

/// <summary>
/// Schema migrations, versioned in code. <c>PRAGMA user_version</c> holds the number of the last
/// migration applied; each migration runs in its own transaction together with the version bump,
/// so a crash leaves the file at a known version.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>Migration steps; step <c>i</c> moves the file from version <c>i</c> to <c>i + 1</c>. Append only.</summary>
    internal static readonly string[] Migrations =
    [
        // 1: ccflare's tables. Instants are Unix epoch milliseconds (INTEGER), booleans 0/1.
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            provider TEXT NOT NULL,
            auth_method TEXT NOT NULL DEFAULT 'api_key',
            base_url TEXT,
            api_key TEXT,
            refresh_token TEXT,
            access_token TEXT,
            expires_at INTEGER,
            created_at INTEGER NOT NULL,
            last_used INTEGER,
            request_count INTEGER NOT NULL DEFAULT 0,
            total_requests INTEGER NOT NULL DEFAULT 0,
            weight INTEGER NOT NULL DEFAULT 1,
            rate_limited_until INTEGER,
            session_start INTEGER,
            session_request_count INTEGER NOT NULL DEFAULT 0,
            paused INTEGER NOT NULL DEFAULT 0,
            rate_limit_reset INTEGER,
            rate_limit_status TEXT,
            rate_limit_remaining INTEGER,
            token_status TEXT,
            token_status_reason TEXT
        );

        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            timestamp INTEGER NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            provider TEXT,
            upstream_path TEXT,
            account_used TEXT,
            account_name TEXT,
            status_code INTEGER,
            success INTEGER NOT NULL,
            error_message TEXT,
            response_time_ms REAL,
            failover_attempts INTEGER NOT NULL DEFAULT 0,
            model TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            cost_usd REAL,
            output_tokens_per_second REAL,
            input_tokens INTEGER,
            cache_read_input_tokens INTEGER,
            cache_creation_input_tokens INTEGER,
            output_tokens INTEGER,
            reasoning_tokens INTEGER,
            response_id TEXT,
            previous_response_id TEXT,
            response_chain_id TEXT,
            client_session_id TEXT,
            ttft_ms REAL,
            proxy_overhead_ms REAL,
            upstream_ttfb_ms REAL,
            streaming_duration_ms REAL,
            user_id TEXT
        );
        CREATE INDEX idx_requests_timestamp ON requests (timestamp);
        CREATE INDEX idx_requests_account_used_timestamp ON requests (account_used, timestamp);
        CREATE INDEX idx_requests_model_timestamp ON requests (model, timestamp);
        CREATE INDEX idx_requests_user_id_timestamp ON requests (user_id, timestamp);

        CREATE TABLE request_payloads (
            id TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
            request_headers TEXT NOT NULL,
            request_body BLOB,
            response_status INTEGER,
            response_headers TEXT NOT NULL,
            response_body BLOB,
            response_body_truncated INTEGER NOT NULL DEFAULT 0,
            rate_limited INTEGER NOT NULL DEFAULT 0,
            accounts_attempted TEXT NOT NULL
        );

        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE auth_sessions (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            auth_method TEXT NOT NULL,
            account_name TEXT NOT NULL,
            state_json TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX idx_auth_sessions_expires_at ON auth_sessions (expires_at);

        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            access_key_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );
        """,
        // 2: whether a row's cost is its model family's estimate; session lookups by index.
        """
        ALTER TABLE requests ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX idx_requests_client_session_id_timestamp ON requests (client_session_id, timestamp) WHERE client_session_id IS NOT NULL;
        """,
        // 3: account priority levels and the usage windows providers report (JSON, see AccountUsage.Serialize).
        """
        ALTER TABLE accounts ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE accounts ADD COLUMN usage_json TEXT;
        """,
        // 4: whether a stored request body was cut at MaxStoredPayloadBytes (the response already had its flag).
        """
        ALTER TABLE request_payloads ADD COLUMN request_body_truncated INTEGER NOT NULL DEFAULT 0;
        """,
    ];

    /// <summary>The version a fully migrated file has.</summary>
    internal static int LatestVersion => Migrations.Length;

    /// <summary>Page size of new files; an existing file keeps the one it was created with.</summary>
    internal const int PageSize = 8192;

    /// <summary>Switches the file to WAL and applies every pending migration.</summary>
    internal static void Migrate(SqliteConnection connection)
    {
        // 8 KiB pages instead of 4 KiB: payload bodies run to hundreds of KiB, and larger pages
        // mean fewer overflow pages and less WAL per body (about a third less CPU per 1 MiB body
        // here). With time-ordered ids, batches of small rows are as cheap or a little cheaper than
        // with 4 KiB; 16 KiB made them dearer (each commit rewrites whole pages).
        // Only an empty file can take it, and only before WAL is switched on.
        using (var pages = connection.CreateCommand())
        {
            pages.CommandText = "PRAGMA page_count;";
            if (Convert.ToInt64(pages.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                Execute(connection, null, "PRAGMA page_size = " + PageSize.ToString(CultureInfo.InvariantCulture) + ";");
            }
        }
        // journal_mode is persistent in the file and cannot change inside a transaction.
        Execute(connection, null, "PRAGMA journal_mode = WAL;");

        while (true)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var version = ReadVersion(connection, transaction);
            if (version >= Migrations.Length)
            {
                if (version > Migrations.Length)
                {
                    throw new InvalidOperationException(
                        $"The database has schema version {version}, newer than this Ccflare ({Migrations.Length}). Upgrade Ccflare.");
                }
                transaction.Commit();
                return;
            }
            Execute(connection, transaction, Migrations[version]);
            Execute(connection, transaction, "PRAGMA user_version = " + (version + 1).ToString(CultureInfo.InvariantCulture) + ";");
            transaction.Commit();
        }
    }

    internal static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
