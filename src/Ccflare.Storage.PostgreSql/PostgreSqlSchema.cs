using Npgsql;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// Schema migrations, versioned in code. <c>ccflare_schema_version</c> holds the number of the last
/// migration applied. Migrating runs in one transaction holding a transaction-level advisory lock
/// keyed by the schema name, so replicas starting together migrate one after the other: the first
/// applies the steps, the others find the schema current and apply nothing.
/// </summary>
internal static class PostgreSqlSchema
{
    /// <summary>First key of the advisory locks Ccflare takes (the second is a hash of what is locked).</summary>
    internal const int AdvisoryLockClass = 0x0CCF1A2E;

    /// <summary>Channel of the change notifications; the payload is <c>schema.table</c>.</summary>
    internal const string NotifyChannel = "ccflare_changes";

    /// <summary>Migration steps; step <c>i</c> moves the schema from version <c>i</c> to <c>i + 1</c>. Append only. <c>{s}</c> is the quoted schema.</summary>
    internal static readonly string[] Migrations =
    [
        // 1: ccflare's tables. Instants are timestamptz, booleans boolean; seq keeps insertion order for ties.
        """
        CREATE TABLE {s}.accounts (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            provider text NOT NULL,
            auth_method text NOT NULL DEFAULT 'api_key',
            base_url text,
            api_key text,
            refresh_token text,
            access_token text,
            expires_at timestamptz,
            created_at timestamptz NOT NULL,
            last_used timestamptz,
            request_count bigint NOT NULL DEFAULT 0,
            total_requests bigint NOT NULL DEFAULT 0,
            weight integer NOT NULL DEFAULT 1,
            rate_limited_until timestamptz,
            session_start timestamptz,
            session_request_count bigint NOT NULL DEFAULT 0,
            paused boolean NOT NULL DEFAULT false,
            rate_limit_reset timestamptz,
            rate_limit_status text,
            rate_limit_remaining bigint,
            token_status text,
            token_status_reason text
        );

        CREATE TABLE {s}.requests (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
            timestamp timestamptz NOT NULL,
            method text NOT NULL,
            path text NOT NULL,
            provider text,
            upstream_path text,
            account_used text,
            account_name text,
            status_code integer,
            success boolean NOT NULL,
            error_message text,
            response_time_ms double precision,
            failover_attempts integer NOT NULL DEFAULT 0,
            model text,
            prompt_tokens bigint,
            completion_tokens bigint,
            total_tokens bigint,
            cost_usd numeric,
            output_tokens_per_second double precision,
            input_tokens bigint,
            cache_read_input_tokens bigint,
            cache_creation_input_tokens bigint,
            output_tokens bigint,
            reasoning_tokens bigint,
            response_id text,
            previous_response_id text,
            response_chain_id text,
            client_session_id text,
            ttft_ms double precision,
            proxy_overhead_ms double precision,
            upstream_ttfb_ms double precision,
            streaming_duration_ms double precision,
            user_id text
        );
        CREATE INDEX requests_timestamp_idx ON {s}.requests (timestamp, seq);
        CREATE INDEX requests_account_used_timestamp_idx ON {s}.requests (account_used, timestamp);
        CREATE INDEX requests_model_timestamp_idx ON {s}.requests (model, timestamp);
        CREATE INDEX requests_user_id_timestamp_idx ON {s}.requests (user_id, timestamp);

        -- timestamp repeats the request's, so payload retention deletes by an index of its own.
        CREATE TABLE {s}.request_payloads (
            id text PRIMARY KEY REFERENCES {s}.requests (id) ON DELETE CASCADE,
            timestamp timestamptz NOT NULL,
            request_headers text NOT NULL,
            request_body bytea,
            response_status integer,
            response_headers text NOT NULL,
            response_body bytea,
            response_body_truncated boolean NOT NULL DEFAULT false,
            rate_limited boolean NOT NULL DEFAULT false,
            accounts_attempted text NOT NULL
        );
        CREATE INDEX request_payloads_timestamp_idx ON {s}.request_payloads (timestamp);

        CREATE TABLE {s}.settings (
            key text PRIMARY KEY,
            value text NOT NULL
        );

        CREATE TABLE {s}.auth_sessions (
            id text PRIMARY KEY,
            provider text NOT NULL,
            auth_method text NOT NULL,
            account_name text NOT NULL,
            state_json text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX auth_sessions_expires_at_idx ON {s}.auth_sessions (expires_at);

        CREATE TABLE {s}.users (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            access_key_hash text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL
        );

        -- The Data Protection key ring that encrypts secrets at rest, shared by every replica.
        CREATE TABLE {s}.data_protection_keys (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            friendly_name text,
            xml text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        -- Every write to accounts, settings or users notifies the other replicas (whoever wrote: a
        -- replica, the CLI or an operator with psql). Statement-level, and PostgreSQL folds equal
        -- notifications of one transaction into one.
        CREATE FUNCTION {s}.ccflare_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('ccflare_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {s}.accounts
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_notify_change();
        CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {s}.settings
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_notify_change();
        CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {s}.users
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_notify_change();
        """,
        // 2: hourly rollups for analytics over long ranges, filled from the rows already stored.
        PostgreSqlRollups.Migration(),
        // 3: whether a row's cost is its model family's estimate; session lookups by index.
        """
        ALTER TABLE {s}.requests ADD COLUMN IF NOT EXISTS cost_estimated boolean NOT NULL DEFAULT false;
        CREATE INDEX IF NOT EXISTS requests_client_session_id_timestamp_idx ON {s}.requests (client_session_id, timestamp) WHERE client_session_id IS NOT NULL;
        """,
        // 4: the rollups also keyed by provider (analytics' providerBreakdown and providers= filter), rebuilt from the rows.
        PostgreSqlRollups.Rebuild(),
        // 5: account priority levels and the usage windows providers report (JSON, see AccountUsage.Serialize).
        """
        ALTER TABLE {s}.accounts ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0;
        ALTER TABLE {s}.accounts ADD COLUMN IF NOT EXISTS usage_json text;
        """,
        // 6: whether a stored request body was cut at MaxStoredPayloadBytes (the response already had its flag).
        """
        ALTER TABLE {s}.request_payloads ADD COLUMN IF NOT EXISTS request_body_truncated boolean NOT NULL DEFAULT false;
        """,
    ];

    /// <summary>The version a fully migrated schema has.</summary>
    internal static int LatestVersion => Migrations.Length;

    /// <summary>Creates the schema when missing and applies every pending migration, under the migration lock.</summary>
    internal static async Task MigrateAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        var s = QuoteIdentifier(schema);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@class, hashtext(@key));", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("class", AdvisoryLockClass);
            lockCommand.Parameters.AddWithValue("key", "migrate:" + schema);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await ExecuteAsync(connection, transaction,
            $"CREATE SCHEMA IF NOT EXISTS {s}; CREATE TABLE IF NOT EXISTS {s}.ccflare_schema_version (version integer NOT NULL);",
            cancellationToken).ConfigureAwait(false);

        var version = await ReadVersionAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false);
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException(
                $"The database schema '{schema}' has version {version}, newer than this Ccflare ({Migrations.Length}). Upgrade Ccflare.");
        }
        if (version == Migrations.Length)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        for (var step = version; step < Migrations.Length; step++)
        {
            await ExecuteAsync(connection, transaction, Migrations[step].Replace("{s}", s, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
        }
        await ExecuteAsync(connection, transaction,
            $"DELETE FROM {s}.ccflare_schema_version; INSERT INTO {s}.ccflare_schema_version (version) VALUES ({Migrations.Length});",
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<int> ReadVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {QuoteIdentifier(schema)}.ccflare_schema_version;", connection, transaction);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>True for the schema names Ccflare accepts: lower-case letters, digits and underscores, not starting with a digit, at most 63 characters.</summary>
    internal static bool IsValidSchemaName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 63 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    internal static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
