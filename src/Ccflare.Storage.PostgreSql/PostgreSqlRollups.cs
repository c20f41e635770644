using System.Text;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// Hourly rollups of the request history, kept by statement-level triggers on <c>requests</c> in the
/// writing transaction, so they always agree with the rows:
/// <list type="bullet">
/// <item><c>request_rollups</c>: per hour, model, account, account name, provider, user and success, the sums
/// analytics needs (<see cref="RequestGroup"/>).</item>
/// <item><c>request_latency_rollups</c>: per hour, model, user and success, a histogram of response
/// times in buckets <see cref="BucketRatio"/> wide (a relative error of at most 1% for a percentile).</item>
/// </list>
/// Inserts add their rows' sums; deletes and updates subtract the old rows' (and add the new ones'),
/// then recompute the tokens-per-second minimum and maximum of the hours they touched, the only values
/// that cannot be subtracted. Text keys hold <c>''</c> for NULL so they can be part of a primary key.
/// Analytics read the rollups for whole hours and the rows only for the partial hours at the edges of
/// a range.
/// </summary>
internal static class PostgreSqlRollups
{
    /// <summary>Upper bound over lower bound of one response-time bucket.</summary>
    internal const double BucketRatio = 1.02;

    private const string Epoch = "timestamptz '1970-01-01 00:00:00+00'";

    /// <summary>Start of the hour of <paramref name="instant"/> (an SQL expression).</summary>
    internal static string HourOf(string instant) => $"date_bin(interval '1 hour', {instant}, {Epoch})";

    /// <summary>Start of the <c>@bucket</c>-wide bucket of <paramref name="instant"/> since the epoch; the epoch itself when there are no buckets.</summary>
    internal static string BucketOf(string instant, bool buckets) => buckets ? $"date_bin(@bucket, {instant}, {Epoch})" : Epoch;

    /// <summary>Rollup columns, in the order <see cref="Sums"/> computes them.</summary>
    private static readonly string[] SumColumns =
    [
        "requests", "total_tokens", "cost_usd", "response_time_sum", "response_time_count", "tps_sum", "tps_count", "tps_min", "tps_max",
        "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens",
    ];

    /// <summary>Sums of a group of request rows <c>r</c>, in <see cref="SumColumns"/> order, each multiplied by <paramref name="sign"/> (the extremes are NULL when subtracting).</summary>
    internal static string Sums(int sign = 1)
    {
        var times = sign == 1 ? string.Empty : $" * {sign}";
        var extremes = sign == 1
            ? "min(r.output_tokens_per_second) FILTER (WHERE r.output_tokens_per_second > 0), max(r.output_tokens_per_second) FILTER (WHERE r.output_tokens_per_second > 0)"
            : "NULL::double precision, NULL::double precision";
        return $"""
            count(*){times}, coalesce(sum(r.total_tokens), 0)::bigint{times}, coalesce(sum(r.cost_usd), 0){times},
            coalesce(sum(r.response_time_ms), 0){times}, count(r.response_time_ms){times},
            coalesce(sum(r.output_tokens_per_second) FILTER (WHERE r.output_tokens_per_second > 0), 0){times},
            count(*) FILTER (WHERE r.output_tokens_per_second > 0){times}, {extremes},
            coalesce(sum(r.input_tokens), 0)::bigint{times}, coalesce(sum(r.cache_read_input_tokens), 0)::bigint{times},
            coalesce(sum(r.cache_creation_input_tokens), 0)::bigint{times}, coalesce(sum(r.output_tokens), 0)::bigint{times}
            """;
    }

    /// <summary>The sum columns of rollup rows <paramref name="alias"/>, in <see cref="Sums"/> order.</summary>
    internal static string SumColumnList(string alias) => string.Join(", ", SumColumns.Select(column => alias + "." + column));

    /// <summary>Sums of rollup rows (or of groups with <see cref="Sums"/>' columns), in the same order.</summary>
    internal static readonly string Resums = string.Join(", ", SumColumns.Select(column => column switch
    {
        "tps_min" => "min(tps_min)",
        "tps_max" => "max(tps_max)",
        "cost_usd" or "response_time_sum" or "tps_sum" => $"sum({column})",
        _ => $"sum({column})::bigint",
    }));

    private const string Keys = "hour, model, account_used, account_name, provider, user_id, success";
    private const string LatencyKeys = "hour, model, user_id, success";

    /// <summary>Adds (or with <paramref name="sign"/> -1 subtracts) the request rows <c>r</c> of <paramref name="from"/> to both rollups.</summary>
    private static string Apply(string from, int sign)
    {
        var updates = string.Join(", ", SumColumns.Select(column => column switch
        {
            "tps_min" => "tps_min = least(t.tps_min, excluded.tps_min)",
            "tps_max" => "tps_max = greatest(t.tps_max, excluded.tps_max)",
            _ => $"{column} = t.{column} + excluded.{column}",
        }));
        // ORDER BY the key: concurrent writers lock rollup rows in the same order and cannot deadlock.
        return $"""
            INSERT INTO {"{s}"}.request_rollups AS t ({Keys}, {string.Join(", ", SumColumns)})
            SELECT {HourOf("r.timestamp")}, coalesce(r.model, ''), coalesce(r.account_used, ''), coalesce(r.account_name, ''),
                coalesce(r.provider, ''), coalesce(r.user_id, ''), r.success, {Sums(sign)}
            FROM {from} GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
            ON CONFLICT ({Keys}) DO UPDATE SET {updates};
            INSERT INTO {"{s}"}.request_latency_rollups AS t ({LatencyKeys}, histogram)
            SELECT hour, model, user_id, success, {"{s}"}.ccflare_histogram(bucket, n) FROM (
                SELECT {HourOf("r.timestamp")} AS hour, r.model, coalesce(r.user_id, '') AS user_id, r.success,
                    {"{s}"}.ccflare_latency_bucket(r.response_time_ms) AS bucket, count(*) * {sign} AS n
                FROM {from} WHERE r.model IS NOT NULL AND r.response_time_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5) b
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            ON CONFLICT ({LatencyKeys}) DO UPDATE SET histogram = {"{s}"}.ccflare_histogram_merge(t.histogram, excluded.histogram);
            """;
    }

    /// <summary>Subtracts <c>old_rows</c>, drops emptied rollups and recomputes the extremes of the hours it touched.</summary>
    private static string Retract() => $"""
        {Apply("old_rows r", -1)}
        DELETE FROM {"{s}"}.request_rollups WHERE requests <= 0 AND hour IN (SELECT DISTINCT {HourOf("timestamp")} FROM old_rows);
        DELETE FROM {"{s}"}.request_latency_rollups WHERE hour IN (SELECT DISTINCT {HourOf("timestamp")} FROM old_rows)
            AND NOT EXISTS (SELECT 1 FROM unnest(histogram) AS u(n) WHERE u.n > 0);
        UPDATE {"{s}"}.request_rollups x SET tps_min = e.tps_min, tps_max = e.tps_max
        FROM (
            SELECT k.hour, k.model, k.account_used, k.account_name, k.provider, k.user_id, k.success, a.tps_min, a.tps_max
            FROM (SELECT DISTINCT {HourOf("o.timestamp")} AS hour, coalesce(o.model, '') AS model, coalesce(o.account_used, '') AS account_used,
                    coalesce(o.account_name, '') AS account_name, coalesce(o.provider, '') AS provider, coalesce(o.user_id, '') AS user_id, o.success
                  FROM old_rows o WHERE o.output_tokens_per_second > 0) k
            LEFT JOIN (
                -- One index range scan per touched hour, never the whole table.
                SELECT h.hour, coalesce(r.model, '') AS model, coalesce(r.account_used, '') AS account_used,
                    coalesce(r.account_name, '') AS account_name, coalesce(r.provider, '') AS provider, coalesce(r.user_id, '') AS user_id, r.success,
                    min(r.output_tokens_per_second) AS tps_min, max(r.output_tokens_per_second) AS tps_max
                FROM (SELECT DISTINCT {HourOf("o.timestamp")} AS hour FROM old_rows o WHERE o.output_tokens_per_second > 0) h
                CROSS JOIN LATERAL (SELECT * FROM {"{s}"}.requests q WHERE q.timestamp >= h.hour AND q.timestamp < h.hour + interval '1 hour'
                    AND q.output_tokens_per_second > 0) r
                GROUP BY 1, 2, 3, 4, 5, 6, 7) a
            ON a.hour = k.hour AND a.model = k.model AND a.account_used = k.account_used AND a.account_name = k.account_name
                AND a.provider = k.provider AND a.user_id = k.user_id AND a.success = k.success) e
        WHERE x.hour = e.hour AND x.model = e.model AND x.account_used = e.account_used AND x.account_name = e.account_name
            AND x.provider = e.provider AND x.user_id = e.user_id AND x.success = e.success;
        """;

    /// <summary>
    /// Migration step replacing rollups of an earlier shape (without the provider key, before schema version 4) by
    /// the current ones, filled afresh from the stored rows.
    /// </summary>
    internal static string Rebuild() => $"""
        DROP TABLE {"{s}"}.request_rollups, {"{s}"}.request_latency_rollups;
        DROP FUNCTION {"{s}"}.ccflare_rollup_inserted, {"{s}"}.ccflare_rollup_updated, {"{s}"}.ccflare_rollup_deleted, {"{s}"}.ccflare_rollup_truncated CASCADE;
        DROP FUNCTION {"{s}"}.ccflare_histogram_step, {"{s}"}.ccflare_histogram_merge, {"{s}"}.ccflare_latency_bucket CASCADE;
        {Migration()}
        """;

    /// <summary>Migration step creating the rollups, their triggers, and filling them from the rows already stored.</summary>
    internal static string Migration() => $$"""
        CREATE TABLE {s}.request_rollups (
            hour timestamptz NOT NULL,
            model text NOT NULL,
            account_used text NOT NULL,
            account_name text NOT NULL,
            provider text NOT NULL,
            user_id text NOT NULL,
            success boolean NOT NULL,
            requests bigint NOT NULL,
            total_tokens bigint NOT NULL,
            cost_usd numeric NOT NULL,
            response_time_sum double precision NOT NULL,
            response_time_count bigint NOT NULL,
            tps_sum double precision NOT NULL,
            tps_count bigint NOT NULL,
            tps_min double precision,
            tps_max double precision,
            input_tokens bigint NOT NULL,
            cache_read_input_tokens bigint NOT NULL,
            cache_creation_input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            PRIMARY KEY ({{Keys}})
        );
        CREATE TABLE {s}.request_latency_rollups (
            hour timestamptz NOT NULL,
            model text NOT NULL,
            user_id text NOT NULL,
            success boolean NOT NULL,
            histogram integer[] NOT NULL,
            PRIMARY KEY ({{LatencyKeys}})
        );

        CREATE FUNCTION {s}.ccflare_latency_bucket(ms double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT floor(ln(greatest(ms, 1)) / ln({{BucketRatio.ToString(System.Globalization.CultureInfo.InvariantCulture)}}))::integer
        $$;
        -- A histogram is an integer[] subscripted by bucket; its lower bound is its lowest bucket.
        CREATE FUNCTION {s}.ccflare_histogram_step(state integer[], bucket integer, n bigint) RETURNS integer[] LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
            state[bucket] := coalesce(state[bucket], 0) + n;
            RETURN state;
        END
        $$;
        CREATE AGGREGATE {s}.ccflare_histogram(integer, bigint) (SFUNC = {s}.ccflare_histogram_step, STYPE = integer[]);
        CREATE FUNCTION {s}.ccflare_histogram_merge(a integer[], b integer[]) RETURNS integer[] LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
            IF b IS NULL OR cardinality(b) = 0 THEN
                RETURN a;
            END IF;
            FOR i IN array_lower(b, 1) .. array_upper(b, 1) LOOP
                IF b[i] IS NOT NULL THEN
                    a[i] := coalesce(a[i], 0) + b[i];
                END IF;
            END LOOP;
            RETURN a;
        END
        $$;

        CREATE FUNCTION {s}.ccflare_rollup_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {{Apply("new_rows r", 1)}}
            RETURN NULL;
        END
        $$;
        CREATE FUNCTION {s}.ccflare_rollup_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM old_rows) THEN
                {{Retract()}}
                {{Apply("new_rows r", 1)}}
            END IF;
            RETURN NULL;
        END
        $$;
        CREATE FUNCTION {s}.ccflare_rollup_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {{Retract()}}
            RETURN NULL;
        END
        $$;
        CREATE FUNCTION {s}.ccflare_rollup_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE {s}.request_rollups, {s}.request_latency_rollups;
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER requests_rollup_insert AFTER INSERT ON {s}.requests
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_rollup_inserted();
        CREATE TRIGGER requests_rollup_update AFTER UPDATE ON {s}.requests
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_rollup_updated();
        CREATE TRIGGER requests_rollup_delete AFTER DELETE ON {s}.requests
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_rollup_deleted();
        CREATE TRIGGER requests_rollup_truncate AFTER TRUNCATE ON {s}.requests
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.ccflare_rollup_truncated();

        {{Apply("{s}.requests r", 1)}}
        """;

    /// <summary>
    /// When <paramref name="query"/> with buckets <paramref name="bucket"/> wide can be read from the
    /// rollups: buckets of whole hours (or none), the whole hours of the range, and the partial hours
    /// at its edges that must come from the rows.
    /// </summary>
    internal static bool TrySplit(RequestQuery query, TimeSpan bucket, out HourSplit split)
    {
        split = default;
        // Rollups do not keep client sessions: a session filter reads the rows.
        if (bucket < TimeSpan.Zero || bucket.Ticks % TimeSpan.TicksPerHour != 0 || query.ClientSessionIds.Count > 0)
        {
            return false;
        }
        var first = query.From is { } from ? CeilingHour(from) : (DateTimeOffset?)null;
        var end = query.To is { } to ? FloorHour(to) : (DateTimeOffset?)null;
        if (first is { } f && end is { } e && f >= e)
        {
            return false;
        }
        split = new HourSplit(first, end);
        return true;
    }

    private static DateTimeOffset FloorHour(DateTimeOffset instant) =>
        new(instant.UtcTicks - instant.UtcTicks % TimeSpan.TicksPerHour, TimeSpan.Zero);

    private static DateTimeOffset CeilingHour(DateTimeOffset instant)
    {
        var floor = FloorHour(instant);
        return floor.UtcTicks == instant.UtcTicks ? floor : floor.AddHours(1);
    }

    /// <summary>
    /// Appends the WHERE clause of the rows outside the whole hours of <paramref name="split"/> (the
    /// edges), or returns false when there are none. Uses <c>@from</c>, <c>@to</c>, <c>@hours_from</c>, <c>@hours_to</c>.
    /// </summary>
    internal static bool AppendEdges(StringBuilder sql, RequestQuery query, HourSplit split)
    {
        var before = query.From is not null && split.First is not null;
        var after = query.To is not null && split.End is not null;
        if (!before && !after)
        {
            return false;
        }
        sql.Append(" WHERE (");
        if (before)
        {
            sql.Append("(r.timestamp >= @from AND r.timestamp < @hours_from)");
        }
        if (after)
        {
            sql.Append(before ? " OR " : string.Empty).Append("(r.timestamp >= @hours_to AND r.timestamp < @to)");
        }
        sql.Append(')');
        return true;
    }

    /// <summary>Appends the WHERE clause selecting the whole hours of <paramref name="split"/> from rollup rows <c>x</c>.</summary>
    internal static void AppendHours(StringBuilder sql, HourSplit split)
    {
        sql.Append(" WHERE true");
        if (split.First is not null)
        {
            sql.Append(" AND x.hour >= @hours_from");
        }
        if (split.End is not null)
        {
            sql.Append(" AND x.hour < @hours_to");
        }
    }

    /// <summary>The nearest-rank <paramref name="percentile"/> of a histogram: the geometric middle of the bucket holding that rank.</summary>
    internal static double Percentile(List<(int Bucket, long Count)> histogram, double percentile)
    {
        histogram.Sort(static (a, b) => a.Bucket.CompareTo(b.Bucket));
        long total = 0;
        foreach (var (_, count) in histogram)
        {
            total += count;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * total));
        long seen = 0;
        foreach (var (bucket, count) in histogram)
        {
            seen += count;
            if (seen >= rank)
            {
                return Math.Pow(BucketRatio, bucket + 0.5);
            }
        }
        return 0;
    }
}

/// <summary>The whole hours of a range (<see cref="First"/> inclusive, <see cref="End"/> exclusive; null where the range is open).</summary>
internal readonly record struct HourSplit(DateTimeOffset? First, DateTimeOffset? End);
