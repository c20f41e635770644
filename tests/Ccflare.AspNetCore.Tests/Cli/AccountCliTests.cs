using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ccflare.StandaloneServer.Cli;
using Ccflare.Tests.Infrastructure;
using Ccflare.Tests.OAuth;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ccflare.Tests.Cli;

/// <summary>Process-level tests: each command runs the real StandaloneServer executable against a temporary data directory.</summary>
public sealed class AccountCliTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "ccflare-cli-" + Guid.NewGuid().ToString("N"));
    private FakeAuthServer _auth = null!;
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _auth = await FakeAuthServer.StartAsync();
        _upstream = await FakeUpstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _auth.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Everything the data directory's database files hold, as text.</summary>
    private string DataFiles() => string.Concat(Directory.EnumerateFiles(_dataDir, "ccflare.db*").Select(f => Encoding.UTF8.GetString(File.ReadAllBytes(f))));

    private sealed record CliRun(int ExitCode, string Stdout, string Stderr);

    private async Task<CliRun> RunAsync(string? stdin, params string[] args) => await RunAsync(stdin, null, args);

    private async Task<CliRun> RunAsync(string? stdin, Func<StreamReader, StreamWriter, Task>? interact, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "StandaloneServer.dll"));
        start.ArgumentList.Add("--data-dir");
        start.ArgumentList.Add(_dataDir);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["Ccflare__Providers__claude-code__TokenUrl"] = _auth.TokenUrl;
        start.Environment["Ccflare__Providers__codex__TokenUrl"] = _auth.TokenUrl;
        start.Environment.Remove("CCFLARE_DATA_DIR");

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stderrTask = process.StandardError.ReadToEndAsync(timeout.Token);
        string stdout;
        if (interact is not null)
        {
            await interact(process.StandardOutput, process.StandardInput);
            process.StandardInput.Close();
            stdout = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        }
        else
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }
            process.StandardInput.Close();
            stdout = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        }
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, stdout, await stderrTask);
    }

    [Fact]
    public async Task Add_with_an_api_key_then_list_pause_resume_and_remove()
    {
        var add = await RunAsync(null, "--add-account", "work", "--provider", "anthropic", "--api-key", "sk-ant-cli-secret-1", "--base-url", _upstream.BaseUrl);
        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Contains("Account 'work' added", add.Stdout, StringComparison.Ordinal);

        var list = await RunAsync(null, "--list");
        Assert.Equal(0, list.ExitCode);
        var row = list.Stdout.Split('\n').Single(l => l.StartsWith("work ", StringComparison.Ordinal));
        Assert.Contains("anthropic", row, StringComparison.Ordinal);
        Assert.Contains("api_key", row, StringComparison.Ordinal);
        Assert.Contains("active", row, StringComparison.Ordinal);
        Assert.Contains(_upstream.BaseUrl, row, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant-cli-secret-1", list.Stdout, StringComparison.Ordinal);

        var pause = await RunAsync(null, "--pause", "work");
        Assert.Equal(0, pause.ExitCode);
        Assert.Contains("paused", (await RunAsync(null, "--list")).Stdout.Split('\n').Single(l => l.StartsWith("work ", StringComparison.Ordinal)), StringComparison.Ordinal);

        var resume = await RunAsync(null, "--resume", "work");
        Assert.Equal(0, resume.ExitCode);
        Assert.Contains("active", (await RunAsync(null, "--list")).Stdout.Split('\n').Single(l => l.StartsWith("work ", StringComparison.Ordinal)), StringComparison.Ordinal);

        var remove = await RunAsync(null, "--remove", "work");
        Assert.Equal(0, remove.ExitCode);
        Assert.Contains("No accounts.", (await RunAsync(null, "--list")).Stdout, StringComparison.Ordinal);

        var store = DataFiles();
        Assert.DoesNotContain("sk-ant-cli-secret-1", store, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_for_a_provider_defined_by_configuration_and_refuse_an_unknown_one()
    {
        string[] zai = ["--Ccflare:Providers:zai:Family=anthropic", "--Ccflare:Providers:zai:BaseUrl", _upstream.BaseUrl + "/api/anthropic"];

        var add = await RunAsync(null, ["--add-account", "coding-plan", "--provider", "zai", "--api-key", "zai-cli-key-1", .. zai]);
        Assert.Equal(0, add.ExitCode);
        Assert.Contains("coding-plan", add.Stdout, StringComparison.Ordinal);
        Assert.Contains(" zai ", (await RunAsync(null, ["--list", .. zai])).Stdout.Split('\n').Single(l => l.StartsWith("coding-plan ", StringComparison.Ordinal)), StringComparison.Ordinal);

        var unknown = await RunAsync(null, "--add-account", "other", "--provider", "zai", "--api-key", "k");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("provider 'zai' is unknown; use one of: anthropic, claude-code, openai, codex.", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_reads_the_api_key_from_standard_input()
    {
        var add = await RunAsync("sk-openai-from-stdin\n", "--add-account", "piped", "--provider", "openai");
        Assert.True(add.ExitCode == 0, add.Stderr);

        var list = await RunAsync(null, "--list");
        Assert.Contains("openai", list.Stdout.Split('\n').Single(l => l.StartsWith("piped ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-openai-from-stdin", list.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-openai-from-stdin", DataFiles(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_with_oauth_prints_the_authorize_url_and_completes_with_the_pasted_code()
    {
        string? verifierChallenge = null;
        var add = await RunAsync(null, async (stdout, stdin) =>
        {
            string? line;
            while ((line = await stdout.ReadLineAsync()) is not null && !line.StartsWith("http", StringComparison.Ordinal))
            {
            }
            Assert.NotNull(line);
            var query = QueryHelpers.ParseQuery(new Uri(line).Query);
            Assert.StartsWith("https://claude.ai/oauth/authorize", line, StringComparison.Ordinal);
            Assert.Equal("S256", query["code_challenge_method"]);
            verifierChallenge = query["code_challenge"];
            await stdin.WriteLineAsync("pasted-code#" + query["state"]);
            await stdin.FlushAsync();
        }, "--add-account", "max-cli", "--provider", "claude-code", "--base-url", _upstream.BaseUrl);

        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Contains("Account 'max-cli' added", add.Stdout, StringComparison.Ordinal);
        var token = Assert.Single(_auth.Requests);
        Assert.Equal("pasted-code", token["code"]);
        var challenge = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(token["code_verifier"]!))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(verifierChallenge, challenge);

        var list = await RunAsync(null, "--list");
        var row = list.Stdout.Split('\n').Single(l => l.StartsWith("max-cli ", StringComparison.Ordinal));
        Assert.Contains("claude-code", row, StringComparison.Ordinal);
        Assert.Contains("oauth", row, StringComparison.Ordinal);
        Assert.DoesNotContain("at-1", list.Stdout, StringComparison.Ordinal);
        var stored = DataFiles();
        Assert.DoesNotContain("\"at-1\"", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("\"rt-1\"", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Priority_is_set_on_add_changed_with_set_priority_and_listed()
    {
        string[] Row(CliRun run, string name) =>
            run.Stdout.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var added = (await RunAsync(null, "--add-account", "spare", "--provider", "anthropic", "--api-key", "k1", "--priority", "2")).ExitCode;
        Assert.Equal(0, added);
        var list = await RunAsync(null, "--list");
        var column = Array.IndexOf(list.Stdout.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PRIORITY");
        Assert.True(column > 0, list.Stdout);
        Assert.Equal("2", Row(list, "spare")[column]);

        var set = await RunAsync(null, "--set-priority", "spare", "0");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Equal("0", Row(await RunAsync(null, "--list"), "spare")[column]);

        var negative = await RunAsync(null, "--set-priority", "spare", "-1");
        Assert.Equal(1, negative.ExitCode);
        var notNumber = await RunAsync(null, "--add-account", "x", "--provider", "anthropic", "--api-key", "k", "--priority", "high");
        Assert.Equal(1, notNumber.ExitCode);
        Assert.Contains("--priority must be a whole number", notNumber.Stderr, StringComparison.Ordinal);
        var ghost = await RunAsync(null, "--set-priority", "ghost", "1");
        Assert.Equal(1, ghost.ExitCode);
        Assert.Contains("no account named 'ghost'", ghost.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_exit_with_1_and_a_message_on_stderr()
    {
        var unknownProvider = await RunAsync(null, "--add-account", "x", "--provider", "bedrock", "--api-key", "k");
        Assert.Equal(1, unknownProvider.ExitCode);
        Assert.Contains("bedrock", unknownProvider.Stderr, StringComparison.Ordinal);

        var missing = await RunAsync(null, "--pause", "ghost");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no account named 'ghost'", missing.Stderr, StringComparison.Ordinal);

        var noKey = await RunAsync("", "--add-account", "empty", "--provider", "anthropic");
        Assert.Equal(1, noKey.ExitCode);
        Assert.Contains("API key is required", noKey.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(null, "--add-account", "dup", "--provider", "anthropic", "--api-key", "k1")).ExitCode);
        var duplicate = await RunAsync(null, "--add-account", "dup", "--provider", "anthropic", "--api-key", "k2");
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.Stderr, StringComparison.Ordinal);

        var badCode = await RunAsync("\n", "--add-account", "no-code", "--provider", "codex");
        Assert.Equal(1, badCode.ExitCode);
        Assert.Contains("no authorization code", badCode.Stderr, StringComparison.Ordinal);

        var typo = await RunAsync(null, "--list", "--verbose");
        Assert.Equal(1, typo.ExitCode);
        Assert.Contains("--verbose", typo.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_server_picks_up_accounts_added_paused_and_removed_by_the_cli()
    {
        await using var host = await CcflareTestHost.StartAsync(
            configure: o =>
            {
                o.DataProtectionKeysPath = Path.Combine(_dataDir, "keys");
                // Slower than the persister (500 ms), so counter writes happen between the CLI's write and the reload.
                o.AccountReloadIntervalMs = 2000;
            },
            build: b => b.UseSqliteStorage(Path.Combine(_dataDir, "ccflare.db")));

        Assert.Equal(0, (await RunAsync(null, "--add-account", "live", "--provider", "anthropic", "--api-key", "sk-ant-live", "--base-url", _upstream.BaseUrl)).ExitCode);
        await WaitForAsync(host, accounts => accounts.Any(a => a.GetProperty("name").GetString() == "live"));

        using (var proxied = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        }
        Assert.Equal("sk-ant-live", Assert.Single(_upstream.Received).Header("x-api-key"));

        // Keep traffic flowing while the CLI pauses the account: the server's counter writes must not undo the pause.
        using var stopTraffic = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            while (!stopTraffic.IsCancellationRequested)
            {
                using var r = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
                await Task.Delay(20);
            }
        });
        var pauseRun = await RunAsync(null, "--pause", "live");
        Assert.True(pauseRun.ExitCode == 0, pauseRun.Stderr);
        await WaitForAsync(host, accounts => accounts.Single().GetProperty("paused").GetBoolean());
        await Task.Delay(1500);
        await stopTraffic.CancelAsync();
        await traffic;
        await host.Services.GetRequiredService<Ccflare.Accounts.AccountStatePersister>().FlushAsync(CancellationToken.None);
        using (var json = JsonDocument.Parse(await host.Client.GetStringAsync("/api/accounts")))
        {
            Assert.True(json.RootElement[0].GetProperty("paused").GetBoolean());
            Assert.True(json.RootElement[0].GetProperty("requestCount").GetInt64() >= 1);
        }
        Assert.Contains("paused", (await RunAsync(null, "--list")).Stdout.Split('\n').Single(l => l.StartsWith("live ", StringComparison.Ordinal)), StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(null, "--remove", "live")).ExitCode);
        await WaitForAsync(host, accounts => accounts.Count == 0);
    }

    private static async Task WaitForAsync(CcflareTestHost host, Func<List<JsonElement>, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/api/accounts"));
            if (condition(json.RootElement.EnumerateArray().Select(e => e.Clone()).ToList()))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, "The server did not pick up the CLI's change: " + json.RootElement.GetRawText());
            await Task.Delay(100);
        }
    }
}
