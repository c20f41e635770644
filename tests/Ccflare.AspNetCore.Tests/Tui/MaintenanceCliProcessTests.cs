using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Tui;

/// <summary>
/// <c>--stats</c>, <c>--reset-stats</c>, <c>--clear-history</c> and <c>--analyze</c> run as the real
/// StandaloneServer process against a data directory.
/// </summary>
public sealed class MaintenanceCliProcessTests : IDisposable
{
    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-cli-");

    public void Dispose() => _dataDir.Delete(recursive: true);

    private Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(params string[] args) =>
        StandaloneProcess.RunToEndAsync([.. args, "--data-dir", _dataDir.FullName]);

    private async Task<JsonElement> StatsAsync()
    {
        var (exit, stdout, stderr) = await RunAsync("--stats");
        Assert.True(exit == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public async Task Stats_prints_json_for_an_empty_data_directory()
    {
        var stats = await StatsAsync();

        Assert.Equal(0, stats.GetProperty("totalRequests").GetInt64());
        Assert.Equal(0, stats.GetProperty("successRate").GetDouble());
        Assert.Equal(0, stats.GetProperty("activeAccounts").GetInt32());
        Assert.Equal(0, stats.GetProperty("totalTokens").GetInt64());
        Assert.Empty(stats.GetProperty("topModels").EnumerateArray());
        Assert.Empty(stats.GetProperty("accounts").EnumerateArray());
    }

    [Fact]
    public async Task Reset_stats_and_clear_history_succeed_on_an_empty_data_directory()
    {
        var reset = await RunAsync("--reset-stats");
        Assert.Equal(0, reset.ExitCode);
        Assert.Contains("Statistics reset: request counters and sessions cleared for 0 account(s).", reset.StdOut);

        var clear = await RunAsync("--clear-history");
        Assert.Equal(0, clear.ExitCode);
        Assert.Contains("Request history cleared: 0 request(s) deleted.", clear.StdOut);
    }

    [Fact]
    public async Task Analyze_prints_a_database_report()
    {
        var (exit, stdout, stderr) = await RunAsync("--analyze");

        Assert.True(exit == 0, stderr);
        Assert.Contains("Ccflare database analysis", stdout);
        Assert.Contains("Data directory: " + _dataDir.FullName, stdout);
        Assert.Contains("Files", stdout);
        Assert.Matches(@"accounts\s+0", stdout);
        Assert.Matches(@"requests\s+0", stdout);
        Assert.Contains("Query timings", stdout);
        Assert.Matches(@"recent 50 \(GetRecentRequestsAsync\)\s+[0-9.]+ ms", stdout);
        Assert.Matches(@"last 24h \(QueryRequestsAsync From\)\s+[0-9.]+ ms", stdout);
        if (File.Exists(Path.Combine(_dataDir.FullName, "ccflare.db")))
        {
            Assert.Contains("ccflare.db", stdout);
            Assert.Contains("journal_mode", stdout);
            Assert.Contains("index", stdout);
        }
    }

    [Fact]
    public async Task Two_maintenance_flags_at_once_is_an_error()
    {
        var (exit, stdout, stderr) = await RunAsync("--stats", "--clear-history");

        Assert.Equal(1, exit);
        Assert.Contains("error: use one of --stats, --reset-stats, --clear-history, --analyze at a time", stderr);
        Assert.Equal("", stdout.Trim());
    }

    /// <summary>
    /// A server run records one request; afterwards the maintenance commands see it when the
    /// storage persists (a database file in the data directory) and nothing when it is in memory.
    /// </summary>
    [Fact]
    public async Task Commands_work_on_what_a_previous_server_run_stored()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var port = StandaloneProcess.FreePort();
        await using (var server = await StandaloneProcess.StartAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName], port))
        {
            using var add = await server.Client.PostAsJsonAsync("/api/accounts", new { name = "stored", provider = "anthropic", api_key = "sk-ant-stored-secret", base_url = upstream.BaseUrl });
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
            using var proxied = await server.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
                """{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await server.Client.GetFromJsonAsync<JsonElement>("/api/requests")).GetArrayLength() == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.Equal(0, await server.StopAsync());
        }

        var persisted = Directory.EnumerateFiles(_dataDir.FullName, "ccflare.*").Any(f => !f.EndsWith(".json", StringComparison.Ordinal));
        var expectedRequests = persisted ? 1 : 0;
        var expectedAccounts = persisted ? 1 : 0;

        var stats = await StatsAsync();
        Assert.Equal(expectedRequests, stats.GetProperty("totalRequests").GetInt64());
        Assert.Equal(expectedAccounts, stats.GetProperty("accounts").GetArrayLength());
        if (persisted)
        {
            Assert.Equal(100, stats.GetProperty("successRate").GetDouble());
            Assert.Equal("claude-haiku-4-5", stats.GetProperty("topModels")[0].GetProperty("model").GetString());
            Assert.Equal(1, stats.GetProperty("accounts")[0].GetProperty("requestCount").GetInt64());
            Assert.Equal(1, stats.GetProperty("activeAccounts").GetInt32());
        }
        Assert.DoesNotContain("sk-ant-stored-secret", stats.GetRawText(), StringComparison.Ordinal);

        var analyze = await RunAsync("--analyze");
        Assert.Equal(0, analyze.ExitCode);
        Assert.Matches($@"requests\s+{expectedRequests}\b", analyze.StdOut);

        var reset = await RunAsync("--reset-stats");
        Assert.Contains($"cleared for {expectedAccounts} account(s)", reset.StdOut);
        var afterReset = await StatsAsync();
        Assert.All(afterReset.GetProperty("accounts").EnumerateArray(), a => Assert.Equal(0, a.GetProperty("requestCount").GetInt64()));
        Assert.Equal(expectedRequests, afterReset.GetProperty("totalRequests").GetInt64());

        var clear = await RunAsync("--clear-history");
        Assert.Contains($"{expectedRequests} request(s) deleted", clear.StdOut);
        Assert.Equal(0, (await StatsAsync()).GetProperty("totalRequests").GetInt64());
    }
}

/// <summary>The TUI as a process: against a running server, and starting its own when none answers.</summary>
public sealed class TuiProcessTests : IDisposable
{
    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-tui-");

    public void Dispose() => _dataDir.Delete(recursive: true);

    [Fact]
    public async Task Tui_flag_talks_to_a_running_server()
    {
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName], port);
        using var add = await server.Client.PostAsJsonAsync("/api/accounts", new { name = "proc-account", provider = "openai", api_key = "sk-proc-secret-key" });
        Assert.Equal(HttpStatusCode.Created, add.StatusCode);

        // Input is redirected, so the UI prints every screen once and exits.
        var (exit, stdout, stderr) = await StandaloneProcess.RunToEndAsync(["--tui", "--server", $"http://127.0.0.1:{port}"]);

        Assert.True(exit == 0, stderr);
        Assert.DoesNotContain("starting one in-process", stdout);
        Assert.Contains("Server", stdout);
        Assert.Contains("proc-account", stdout);
        Assert.Contains("Available strategies", stdout);
        Assert.DoesNotContain("sk-proc-secret-key", stdout);
    }

    [Fact]
    public async Task Bare_tui_command_starts_a_server_in_process_when_none_answers()
    {
        var port = StandaloneProcess.FreePort();

        var (exit, stdout, stderr) = await StandaloneProcess.RunToEndAsync(["tui", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName]);

        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("starting one in-process", stdout);
        Assert.Matches(@"Status\s*│\s*ok", stdout);
        Assert.Contains("No accounts yet.", stdout);
    }

    [Fact]
    public async Task Bad_server_url_is_a_clear_error()
    {
        var (exit, _, stderr) = await StandaloneProcess.RunToEndAsync(["--tui", "--server", "ftp://example"]);

        Assert.Equal(1, exit);
        Assert.Contains("--server must be an http or https URL", stderr);
    }
}
