// PostgreSQL store benchmark. Usage:
//   dotnet run -c Release --project bench/Ccflare.Benchmarks.PostgreSql -- write [rows=50000] [batch=500]
//   dotnet run -c Release --project bench/Ccflare.Benchmarks.PostgreSql -- analytics [rows=10000000]
// With CCFLARE_BENCH_PG=<connection string> it uses that (empty) database; otherwise it starts a
// throwaway cluster like the tests do (initdb + pg_ctl, fsync off).
using System.Diagnostics;
using System.Globalization;
using Ccflare;
using Ccflare.Storage.PostgreSql.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

var mode = args.Length > 0 ? args[0] : "write";
var connectionString = Environment.GetEnvironmentVariable("CCFLARE_BENCH_PG");
PostgresServer? server = null;
if (string.IsNullOrEmpty(connectionString))
{
    server = await PostgresServer.GetAsync();
    connectionString = await server.CreateDatabaseAsync("bench");
}
Console.WriteLine($"{mode}: {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}, load {LoadAverage()}");
try
{
    switch (mode)
    {
        case "write":
            await WriteAsync(connectionString,
                args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50_000,
                args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 500);
            break;
        case "analytics":
            await AnalyticsAsync(connectionString, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000_000);
            break;
        default:
            throw new ArgumentException("mode is write or analytics");
    }
}
finally
{
    server?.Stop();
}

static async Task WriteAsync(string connectionString, int rows, int batchSize)
{
    var services = new ServiceCollection();
    services.AddCcflare().UsePostgreSqlStorage(connectionString);
    await using var provider = services.BuildServiceProvider();
    var store = provider.GetRequiredService<ICcflareStore>();
    await store.InitializeAsync(CancellationToken.None);
    var (seconds, cpu) = await Workload.WriteInBatchesAsync(store, Workload.Create(rows), batchSize);
    var stored = await ScalarAsync<long>(connectionString, "SELECT count(*) FROM requests;");
    if (stored != rows)
    {
        throw new InvalidOperationException($"expected {rows} rows, found {stored}");
    }
    var size = await ScalarAsync<long>(connectionString, "SELECT pg_total_relation_size('requests') + pg_total_relation_size('request_payloads');");
    Console.WriteLine($"postgres {rows / seconds,10:N0} rows/s wall  {rows / cpu,10:N0} rows per Ccflare CPU-s  " +
        $"({seconds:N2} s wall, {cpu:N2} s Ccflare CPU, tables {size / 1024.0 / 1024.0:N1} MiB, load {LoadAverage()})");
}

static async Task AnalyticsAsync(string connectionString, int rows)
{
    // The schema through the store, then rows generated inside PostgreSQL (a client would take far
    // longer to send 10 million rows than the queries take to read them), spread over 30 days.
    var services = new ServiceCollection();
    services.AddCcflare().UsePostgreSqlStorage(connectionString);
    await using (var provider = services.BuildServiceProvider())
    {
        await provider.GetRequiredService<ICcflareStore>().InitializeAsync(CancellationToken.None);
    }
    var existing = await ScalarAsync<long>(connectionString, "SELECT count(*) FROM requests;");
    var load = Stopwatch.StartNew();
    const int chunk = 1_000_000;
    for (long from = existing; from < rows; from += chunk)
    {
        var to = Math.Min(rows, from + chunk);
        await ExecuteAsync(connectionString, $"""
            INSERT INTO requests (id, timestamp, method, path, provider, upstream_path, account_used, account_name, status_code, success,
                error_message, response_time_ms, failover_attempts, model, prompt_tokens, completion_tokens, total_tokens, cost_usd,
                output_tokens_per_second, input_tokens, cache_read_input_tokens, cache_creation_input_tokens, output_tokens,
                ttft_ms, proxy_overhead_ms, upstream_ttfb_ms, streaming_duration_ms, user_id)
            SELECT 'bench-' || g, now() - (g::double precision / {rows} * interval '30 days'), 'POST', '/v1/anthropic/v1/messages', 'anthropic', '/v1/messages',
                'acc-' || (g % 8), 'account-' || (g % 8), CASE WHEN g % 17 = 0 THEN 429 ELSE 200 END, g % 17 <> 0,
                CASE WHEN g % 17 = 0 THEN 'Upstream answered 429' END, 400 + (g % 1600), (g % 17 = 0)::int,
                (ARRAY['claude-sonnet-4-5','claude-haiku-4-5','claude-opus-4-1','gpt-5','gpt-5-codex'])[1 + g % 5],
                1000 + g % 3000, 100 + g % 900, 1100 + g % 3000 + g % 900, 0.0001 * (1 + g % 200),
                20 + (g % 80), 800 + g % 2000, g % 1000, g % 100, 100 + g % 900,
                200 + g % 300, 0.5 + (g % 10) / 10.0, 180 + g % 300, 300 + g % 2000, CASE WHEN g % 3 = 0 THEN 'user-' || (g % 20) END
            FROM generate_series({from + 1}, {to}) g;
            """);
        Console.WriteLine($"  loaded {to:N0} rows ({load.Elapsed.TotalSeconds:N0} s)");
    }
    await ExecuteAsync(connectionString, "VACUUM (ANALYZE) requests;");
    var size = await ScalarAsync<long>(connectionString, "SELECT pg_total_relation_size('requests');");
    var rollups = await ScalarAsync<long>(connectionString, "SELECT pg_total_relation_size('request_rollups') + pg_total_relation_size('request_latency_rollups');");
    var rollupRows = await ScalarAsync<long>(connectionString, "SELECT (SELECT count(*) FROM request_rollups) + (SELECT count(*) FROM request_latency_rollups);");
    Console.WriteLine($"{rows:N0} rows over 30 days, requests table with indexes {size / 1024.0 / 1024.0:N0} MiB, " +
        $"hourly rollups {rollupRows:N0} rows, {rollups / 1024.0 / 1024.0:N1} MiB, loaded in {load.Elapsed.TotalSeconds:N0} s");

    // Ccflare on Kestrel, reading that database, queried the way the dashboard does.
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
    builder.Services.AddCcflare(o => o.AccountReloadIntervalMs = 0).UsePostgreSqlStorage(connectionString);
    await using var app = builder.Build();
    app.MapCcflare();
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(30) };
    foreach (var path in (string[])["/api/analytics?range=1h", "/api/analytics?range=24h", "/api/analytics?range=7d", "/api/analytics?range=30d", "/api/stats"])
    {
        for (var run = 1; run <= 2; run++)
        {
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            watch.Stop();
            response.EnsureSuccessStatusCode();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            Console.WriteLine($"  {path,-28} run {run}: {watch.Elapsed.TotalSeconds,7:N2} s wall, {cpu,7:N2} s Ccflare CPU, {body.Length,7:N0} bytes, load {LoadAverage()}");
        }
    }

    // Retention through the store: the oldest day in batched deletes, the rollup triggers subtracting as they go.
    var store = app.Services.GetRequiredService<ICcflareStore>();
    var oldest = await ScalarAsync<DateTime>(connectionString, "SELECT min(timestamp) FROM requests;");
    var retentionCpu = Process.GetCurrentProcess().TotalProcessorTime;
    var retention = Stopwatch.StartNew();
    var deleted = await store.DeleteRequestsAsync(new DateTimeOffset(oldest, TimeSpan.Zero).AddDays(1), CancellationToken.None);
    retention.Stop();
    var rollupsAgree = await ScalarAsync<long>(connectionString,
        "SELECT abs((SELECT count(*) FROM requests) - (SELECT coalesce(sum(requests), 0) FROM request_rollups))::bigint;") == 0;
    Console.WriteLine($"  retention of the oldest day: {deleted:N0} rows in {retention.Elapsed.TotalSeconds:N2} s wall, " +
        $"{(Process.GetCurrentProcess().TotalProcessorTime - retentionCpu).TotalSeconds:N2} s Ccflare CPU, rollups agree with the rows: {rollupsAgree}, load {LoadAverage()}");
    await app.StopAsync();
}

static async Task ExecuteAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
    await command.ExecuteNonQueryAsync();
}

static async Task<T> ScalarAsync<T>(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
    return (T)(await command.ExecuteScalarAsync())!;
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
