using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace Ccflare.StandaloneServer.Cli;

/// <summary>
/// ccflare's maintenance flags: <c>--stats</c>, <c>--reset-stats</c>, <c>--clear-history</c>,
/// <c>--analyze</c>. They work on the data directory directly through <see cref="ICcflareStore"/>
/// (the app is built but Kestrel is not started), so they run with or without a server.
/// </summary>
internal static class MaintenanceCli
{
    public const string Stats = "--stats";
    public const string ResetStats = "--reset-stats";
    public const string ClearHistory = "--clear-history";
    public const string Analyze = "--analyze";

    private static readonly string[] Commands = [Stats, ResetStats, ClearHistory, Analyze];

    /// <summary>Keeps host logging out of the command's output (stdout carries the result).</summary>
    private static readonly string[] QuietLogging = ["--Logging:LogLevel:Default=Warning", "--Logging:Console:LogToStandardErrorThreshold=Trace"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Runs the maintenance command named in the arguments; null when there is none.</summary>
    public static async Task<int?> TryRunAsync(StandaloneSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var requested = settings.RemainingArgs.Where(a => Commands.Contains(a, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        if (requested.Count == 0)
        {
            return null;
        }
        if (requested.Count > 1)
        {
            await stderr.WriteLineAsync($"error: use one of {string.Join(", ", Commands)} at a time (got {string.Join(" ", requested)}).").ConfigureAwait(false);
            return 1;
        }
        var command = requested[0];
        var rest = settings.RemainingArgs.Where(a => a != command).Concat(QuietLogging).ToList();

        WebApplication app;
        try
        {
            app = StandaloneProgram.Build(settings with { RemainingArgs = rest });
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: {command}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (app.ConfigureAwait(false))
        {
            var store = app.Services.GetRequiredService<ICcflareStore>();
            var time = app.Services.GetRequiredService<TimeProvider>();
            try
            {
                await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
                return await RunCommandAsync(command, settings, store, time, stdout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or System.Data.Common.DbException or NotSupportedException)
            {
                await stderr.WriteLineAsync($"error: {command} failed: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
        }
    }

    /// <summary>Runs one command against an initialised store.</summary>
    internal static async Task<int> RunCommandAsync(string command, StandaloneSettings settings, ICcflareStore store, TimeProvider time, TextWriter stdout, CancellationToken cancellationToken) =>
        command switch
        {
            Stats => await PrintStatsAsync(store, stdout, cancellationToken).ConfigureAwait(false),
            ResetStats => await ResetStatsAsync(store, stdout, cancellationToken).ConfigureAwait(false),
            ClearHistory => await ClearHistoryAsync(store, stdout, cancellationToken).ConfigureAwait(false),
            Analyze => await AnalyzeAsync(settings, store, time, stdout, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "Unknown maintenance command."),
        };

    /// <summary>Statistics over the whole history, computed by streaming the request records.</summary>
    internal static async Task<StatsReport> ComputeStatsAsync(ICcflareStore store, CancellationToken cancellationToken)
    {
        var accounts = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        var names = accounts.ToDictionary(a => a.Id, a => a.Name, StringComparer.Ordinal);
        long total = 0, successes = 0, tokens = 0, timed = 0, rated = 0;
        double responseTime = 0, speed = 0;
        decimal cost = 0;
        var models = new Dictionary<string, long>(StringComparer.Ordinal);
        var perAccount = new Dictionary<string, (long Requests, long Successes)>(StringComparer.Ordinal);
        await foreach (var r in store.QueryRequestsAsync(new RequestQuery(), cancellationToken).ConfigureAwait(false))
        {
            total++;
            if (r.Success)
            {
                successes++;
            }
            tokens += r.TotalTokens ?? 0;
            cost += r.CostUsd ?? 0;
            if (r.ResponseTimeMs is { } ms)
            {
                responseTime += ms;
                timed++;
            }
            if (r.OutputTokensPerSecond is { } tps and > 0)
            {
                speed += tps;
                rated++;
            }
            if (r.Model is { Length: > 0 } model)
            {
                models[model] = models.GetValueOrDefault(model) + 1;
            }
            var account = r.AccountName ?? (r.AccountUsed is { } id ? names.GetValueOrDefault(id, id) : null) ?? "(no account)";
            var (requests, ok) = perAccount.GetValueOrDefault(account);
            perAccount[account] = (requests + 1, ok + (r.Success ? 1 : 0));
        }

        return new StatsReport(
            total,
            total == 0 ? 0 : Math.Round(successes * 100.0 / total, 1),
            accounts.Count(a => a.RequestCount > 0),
            timed == 0 ? 0 : Math.Round(responseTime / timed, 1),
            tokens,
            cost,
            rated == 0 ? null : Math.Round(speed / rated, 1),
            [.. models.OrderByDescending(m => m.Value).ThenBy(m => m.Key, StringComparer.Ordinal).Take(10).Select(m => new StatsModel(m.Key, m.Value))],
            [.. accounts.Select(a => new StatsAccount(a.Name, a.Provider, a.RequestCount, a.TotalRequests, a.Paused,
                    perAccount.TryGetValue(a.Name, out var p) && p.Requests > 0 ? Math.Round(p.Successes * 100.0 / p.Requests, 1) : null))]);
    }

    private static async Task<int> PrintStatsAsync(ICcflareStore store, TextWriter stdout, CancellationToken cancellationToken)
    {
        var report = await ComputeStatsAsync(store, cancellationToken).ConfigureAwait(false);
        await stdout.WriteLineAsync(JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Zeroes every account's usage counters and session (history rows stay).</summary>
    private static async Task<int> ResetStatsAsync(ICcflareStore store, TextWriter stdout, CancellationToken cancellationToken)
    {
        var accounts = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        var reset = 0;
        foreach (var account in accounts)
        {
            if (await store.UpdateAccountAsync(account with { RequestCount = 0, SessionStart = null, SessionRequestCount = 0 }, cancellationToken).ConfigureAwait(false))
            {
                reset++;
            }
        }
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Statistics reset: request counters and sessions cleared for {reset} account(s).")).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Deletes every request record and its payload.</summary>
    private static async Task<int> ClearHistoryAsync(ICcflareStore store, TextWriter stdout, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteRequestsAsync(null, cancellationToken).ConfigureAwait(false);
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Request history cleared: {deleted} request(s) deleted.")).ConfigureAwait(false);
        return 0;
    }

    /// <summary>A database performance report: files, row counts, representative query timings, SQLite details.</summary>
    private static async Task<int> AnalyzeAsync(StandaloneSettings settings, ICcflareStore store, TimeProvider time, TextWriter stdout, CancellationToken cancellationToken)
    {
        var w = stdout;
        await w.WriteLineAsync("Ccflare database analysis").ConfigureAwait(false);
        await w.WriteLineAsync("=========================").ConfigureAwait(false);
        await w.WriteLineAsync($"Data directory: {settings.DataDirectory}").ConfigureAwait(false);
        await w.WriteLineAsync($"Storage:        {settings.Storage} (store: {store.GetType().Name})").ConfigureAwait(false);
        if (store.GetType().Name == "InMemoryStore")
        {
            await w.WriteLineAsync("Note:           this store keeps data in memory only; the numbers below describe this process, not a database file.").ConfigureAwait(false);
        }

        await w.WriteLineAsync().ConfigureAwait(false);
        await w.WriteLineAsync("Files").ConfigureAwait(false);
        long totalBytes = 0;
        var files = Directory.Exists(settings.DataDirectory)
            ? new DirectoryInfo(settings.DataDirectory).GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal).ToList()
            : [];
        if (files.Count == 0)
        {
            await w.WriteLineAsync("  (none)").ConfigureAwait(false);
        }
        foreach (var file in files)
        {
            totalBytes += file.Length;
            await w.WriteLineAsync($"  {file.Name,-28} {Size(file.Length),12}").ConfigureAwait(false);
        }
        await w.WriteLineAsync($"  {"total",-28} {Size(totalBytes),12}").ConfigureAwait(false);

        await w.WriteLineAsync().ConfigureAwait(false);
        await w.WriteLineAsync("Row counts").ConfigureAwait(false);
        var accounts = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        var users = await store.GetUsersAsync(cancellationToken).ConfigureAwait(false);
        var storedSettings = await store.GetSettingsAsync(cancellationToken).ConfigureAwait(false);
        var start = time.GetTimestamp();
        long requests = 0;
        DateTimeOffset? oldest = null, newest = null;
        await foreach (var r in store.QueryRequestsAsync(new RequestQuery(), cancellationToken).ConfigureAwait(false))
        {
            requests++;
            oldest ??= r.Timestamp;
            newest = r.Timestamp;
        }
        var fullScan = time.GetElapsedTime(start);
        await w.WriteLineAsync(Row("accounts", accounts.Count)).ConfigureAwait(false);
        await w.WriteLineAsync(Row("requests", requests)).ConfigureAwait(false);
        await w.WriteLineAsync(Row("users", users.Count)).ConfigureAwait(false);
        await w.WriteLineAsync(Row("settings", storedSettings.Count)).ConfigureAwait(false);
        if (oldest is { } o && newest is { } n)
        {
            await w.WriteLineAsync($"  history spans {o.ToUniversalTime():u} .. {n.ToUniversalTime():u}").ConfigureAwait(false);
        }

        await w.WriteLineAsync().ConfigureAwait(false);
        await w.WriteLineAsync("Query timings").ConfigureAwait(false);
        await w.WriteLineAsync(Timing("all requests, streamed (QueryRequestsAsync)", requests, fullScan)).ConfigureAwait(false);
        foreach (var limit in new[] { 50, 1000 })
        {
            start = time.GetTimestamp();
            var recent = await store.GetRecentRequestsAsync(limit, includePayloads: false, cancellationToken).ConfigureAwait(false);
            await w.WriteLineAsync(Timing($"recent {limit} (GetRecentRequestsAsync)", recent.Count, time.GetElapsedTime(start))).ConfigureAwait(false);
        }
        start = time.GetTimestamp();
        var lastDay = 0L;
        await foreach (var _ in store.QueryRequestsAsync(new RequestQuery { From = time.GetUtcNow().AddHours(-24) }, cancellationToken).ConfigureAwait(false))
        {
            lastDay++;
        }
        await w.WriteLineAsync(Timing("last 24h (QueryRequestsAsync From)", lastDay, time.GetElapsedTime(start))).ConfigureAwait(false);
        start = time.GetTimestamp();
        var errors = 0L;
        await foreach (var _ in store.QueryRequestsAsync(new RequestQuery { Status = RequestStatusFilter.Error }, cancellationToken).ConfigureAwait(false))
        {
            errors++;
        }
        await w.WriteLineAsync(Timing("errors only (QueryRequestsAsync Status)", errors, time.GetElapsedTime(start))).ConfigureAwait(false);

        if (settings.Storage == "sqlite" && File.Exists(settings.DatabasePath))
        {
            await WriteSqliteDetailsAsync(settings.DatabasePath, w, cancellationToken).ConfigureAwait(false);
        }
        return 0;
    }

    private static async Task WriteSqliteDetailsAsync(string path, TextWriter w, CancellationToken cancellationToken)
    {
        await w.WriteLineAsync().ConfigureAwait(false);
        await w.WriteLineAsync("SQLite").ConfigureAwait(false);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        var connection = new SqliteConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            foreach (var pragma in new[] { "page_size", "page_count", "freelist_count", "journal_mode" })
            {
                var value = await ScalarAsync(connection, $"PRAGMA {pragma}", cancellationToken).ConfigureAwait(false);
                await w.WriteLineAsync($"  {pragma,-28} {value}").ConfigureAwait(false);
            }
            await w.WriteLineAsync("  tables and indexes:").ConfigureAwait(false);
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                command.CommandText = "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table','index') AND name NOT LIKE 'sqlite_%' ORDER BY tbl_name, type DESC, name";
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        await w.WriteLineAsync($"    {reader.GetString(0),-6} {reader.GetString(1)} ({reader.GetString(2)})").ConfigureAwait(false);
                    }
                }
            }
        }
    }

    private static async Task<string> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = sql;
            return Convert.ToString(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) ?? "";
        }
    }

    private static string Row(string name, long count) => string.Create(CultureInfo.InvariantCulture, $"  {name,-28} {count,12:N0}");

    private static string Timing(string name, long rows, TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture, $"  {name,-44} {elapsed.TotalMilliseconds,10:0.00} ms  ({rows:N0} rows)");

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MB"),
    };
}

/// <summary>What <c>--stats</c> prints (ccflare's <c>/api/stats</c> fields plus per-account counters).</summary>
internal sealed record StatsReport(
    long TotalRequests,
    double SuccessRate,
    int ActiveAccounts,
    double AvgResponseTime,
    long TotalTokens,
    decimal TotalCostUsd,
    double? AvgTokensPerSecond,
    IReadOnlyList<StatsModel> TopModels,
    IReadOnlyList<StatsAccount> Accounts);

internal sealed record StatsModel(string Model, long Count);

internal sealed record StatsAccount(
    string Name,
    string Provider,
    long RequestCount,
    long TotalRequests,
    bool Paused,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? SuccessRate);
