using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.StandaloneServer.Tui;
using Ccflare.StandaloneServer.Tui.Screens;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console.Testing;

namespace Ccflare.Tests.Tui;

/// <summary>Drives each TUI screen with Spectre's TestConsole against a real Ccflare with a fake upstream.</summary>
public sealed class TuiScreenTests : IAsyncLifetime
{
    private const string AlphaKey = "sk-ant-alpha-secret-0001";
    private const string BetaKey = "sk-ant-beta-secret-0002";

    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;
    private CcflareApiClient _api = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync();
        await _host.AddAccountAsync("alpha", "anthropic", AlphaKey, _upstream.BaseUrl);
        await _host.AddAccountAsync("beta", "anthropic", BetaKey, _upstream.BaseUrl);
        using var response = await _host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
            """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _host.DrainHistoryAsync();
        _api = new CcflareApiClient(_host.Client);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static TestConsole NewConsole(bool interactive = false)
    {
        var console = new TestConsole().Width(220);
        if (interactive)
        {
            console.Interactive();
        }
        return console;
    }

    /// <summary>Selects the item at <paramref name="index"/> of the next selection prompt.</summary>
    private static void Choose(TestConsole console, int index)
    {
        for (var i = 0; i < index; i++)
        {
            console.Input.PushKey(ConsoleKey.DownArrow);
        }
        console.Input.PushKey(ConsoleKey.Enter);
    }

    private async Task<JsonElement> AccountAsync(string name)
    {
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
    }

    private static void AssertNoSecrets(TestConsole console)
    {
        Assert.DoesNotContain(AlphaKey, console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaKey, console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_screen_shows_health_and_config()
    {
        using var console = NewConsole();

        await new ServerScreen(_api, TimeProvider.System).RenderAsync(console, default);

        var output = console.Output;
        Assert.Contains("Server", output);
        Assert.Contains("Status", output);
        Assert.Contains("ok", output);
        Assert.Matches(@"Accounts\s*│\s*2\s", output);
        Assert.Matches(@"Strategy\s*│\s*session\s", output);
        Assert.Contains("anthropic, claude-code, openai, codex", output);
        Assert.Matches(@"Session duration\s*│\s*5h 0m", output);
        Assert.Contains(_host.BaseUrl, output);
    }

    [Fact]
    public async Task Accounts_screen_lists_accounts_with_status_and_never_the_keys()
    {
        using var console = NewConsole();

        await new AccountsScreen(_api, TimeProvider.System).RenderAsync(console, default);

        var lines = console.Lines;
        var alpha = Assert.Single(lines, l => l.Contains("│ alpha ", StringComparison.Ordinal));
        var beta = Assert.Single(lines, l => l.Contains("│ beta ", StringComparison.Ordinal));
        Assert.Contains("anthropic", alpha);
        Assert.Contains("api_key", alpha);
        Assert.Contains("active", alpha);
        Assert.Contains("valid", alpha);
        Assert.Contains("ok", alpha);
        // The session strategy sent the one proxied request to the first account.
        Assert.Contains("1 / 1", alpha);
        Assert.Contains("0 / 0", beta);
        Assert.Contains("never", beta);
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task Accounts_screen_marks_an_account_whose_provider_is_no_longer_configured()
    {
        await _host.Services.GetRequiredService<Ccflare.Accounts.AccountService>().AddAsync(
            new Account { Id = Guid.NewGuid().ToString(), Name = "orphan", Provider = "moonshot", ApiKey = "sk-orphan-secret", CreatedAt = DateTimeOffset.UtcNow }, default);
        using var console = NewConsole();

        await new AccountsScreen(_api, TimeProvider.System).RenderAsync(console, default);

        Assert.Contains("(not configured)", Assert.Single(console.Lines, l => l.Contains("│ orphan ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain("(not configured)", Assert.Single(console.Lines, l => l.Contains("│ alpha ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pausing_through_the_accounts_screen_pauses_the_account_on_the_server()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 1);              // Pause an account
        Choose(console, 0);              // alpha
        Choose(console, 6);              // Back to menu

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.True((await AccountAsync("alpha")).GetProperty("paused").GetBoolean());
        Assert.False((await AccountAsync("beta")).GetProperty("paused").GetBoolean());
        Assert.Contains("Account 'alpha' paused", console.Output);
        Assert.Single(console.Lines, l => l.Contains("│ alpha ", StringComparison.Ordinal) && l.Contains("paused", StringComparison.Ordinal));
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task Resuming_through_the_accounts_screen_resumes_a_paused_account()
    {
        var id = (await AccountAsync("beta")).GetProperty("id").GetString();
        (await _host.Client.PostAsync($"/api/accounts/{id}/pause", null)).EnsureSuccessStatusCode();
        using var console = NewConsole(interactive: true);
        Choose(console, 2);              // Resume an account
        Choose(console, 0);              // beta, the only paused one
        Choose(console, 6);              // Back

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.False((await AccountAsync("beta")).GetProperty("paused").GetBoolean());
        Assert.Contains("Account 'beta' resumed", console.Output);
    }

    [Fact]
    public async Task Adding_an_api_key_account_through_prompts_creates_it_and_hides_the_key()
    {
        const string key = "sk-openai-gamma-secret-9999";
        using var console = NewConsole(interactive: true);
        Choose(console, 0);                                   // Add an API-key account
        console.Input.PushTextWithEnter("gamma");             // name
        Choose(console, 2);                                   // provider: anthropic, claude-code, openai
        console.Input.PushTextWithEnter(key);                 // API key (secret)
        console.Input.PushTextWithEnter(_upstream.OpenAIBaseUrl);
        console.Input.PushTextWithEnter("3");                 // weight
        Choose(console, 6);                                   // Back

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        var gamma = await AccountAsync("gamma");
        Assert.Equal("openai", gamma.GetProperty("provider").GetString());
        Assert.Equal(3, gamma.GetProperty("weight").GetInt32());
        Assert.Equal(_upstream.OpenAIBaseUrl, gamma.GetProperty("base_url").GetString());
        Assert.Contains("Account 'gamma' added", console.Output);
        Assert.DoesNotContain(key, console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("gamma-secret", console.Output, StringComparison.Ordinal);

        // The new account really serves traffic with its key.
        var openAiId = gamma.GetProperty("id").GetString();
        Assert.NotNull(openAiId);
        using var chat = await _host.Client.PostAsync("/v1/openai/chat/completions", new StringContent(
            """{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Contains(_upstream.Received, r => r.Credential == key);
    }

    [Fact]
    public async Task Adding_a_duplicate_name_shows_the_servers_error()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 0);
        console.Input.PushTextWithEnter("alpha");
        Choose(console, 0);
        console.Input.PushTextWithEnter("sk-ant-dupe-key-1");
        console.Input.PushTextWithEnter("");
        console.Input.PushTextWithEnter("");                   // default weight 1
        Choose(console, 6);                                   // Back

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.Contains("Failed: An account named 'alpha' already exists.", console.Output);
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        Assert.Equal(2, accounts.GetArrayLength());
    }

    [Fact]
    public async Task Removing_asks_for_confirmation_and_only_removes_when_confirmed()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 3);                        // Remove
        Choose(console, 1);                        // beta
        console.Input.PushTextWithEnter("n");      // declined
        Choose(console, 3);                        // Remove
        Choose(console, 1);                        // beta
        console.Input.PushTextWithEnter("y");      // confirmed
        Choose(console, 6);                        // Back

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.Contains("Nothing removed.", console.Output);
        Assert.Contains("Remove account beta? This cannot be undone.", console.Output);
        Assert.Contains("Account 'beta' deleted", console.Output);
        var accounts = await _host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        Assert.Equal("alpha", Assert.Single(accounts.EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Accounts_screen_shows_usage_windows_priority_near_limit_and_capacity()
    {
        // alpha's next response reports its five-hour window at 97 %: the server then calls it near its limit.
        _upstream.ScriptFor(AlphaKey, (context, request) =>
        {
            foreach (var (name, value) in Usage.UsageHeaderTests.ClaudeSubscriptionHeaders(DateTimeOffset.UtcNow))
            {
                context.Response.Headers[name] = value;
            }
            return FakeUpstream.DefaultAsync(context, request);
        });
        using (var response = await _host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
            """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var beta = (await AccountAsync("beta")).GetProperty("id").GetString();
        (await _host.Client.PatchAsJsonAsync($"/api/accounts/{beta}", new { priority = 2 })).EnsureSuccessStatusCode();
        using var console = NewConsole();

        await new AccountsScreen(_api, TimeProvider.System).RenderAsync(console, default);

        var lines = console.Lines.ToList();
        var alphaRow = lines.FindIndex(l => l.Contains("│ alpha ", StringComparison.Ordinal));
        var betaRow = lines.FindIndex(l => l.Contains("│ beta ", StringComparison.Ordinal));
        Assert.Matches(@"│ alpha\s+│ anthropic\s+│ api_key\s+│\s+0 │\s+1 │ active, near limit: five_hour", lines[alphaRow]);
        Assert.Matches(@"│ beta\s+│ anthropic\s+│ api_key\s+│\s+2 │\s+1 │ active\s+│ no usage reported", lines[betaRow]);
        // One line per window inside alpha's row: bar (ten cells), percentage, countdown to the reset.
        var alphaLines = lines.Skip(alphaRow).Take(betaRow - alphaRow).ToList();
        Assert.Contains(alphaLines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"five_hour\s+██████████\s+97% resets in (1h 59m|2h 0m)"));
        Assert.Contains(alphaLines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"seven_day\s+████░░░░░░\s+40% resets in (2d 23h|3d 0h)"));
        Assert.Contains(alphaLines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"seven_day_opus █░░░░░░░░░\s+12% no reset known"));
        Assert.DoesNotContain(lines, l => l.Contains("near limit:", StringComparison.Ordinal) && !l.Contains("│ alpha ", StringComparison.Ordinal));
        // alpha's headroom is 0.03 (five_hour at 97 %); beta has reported nothing.
        Assert.Contains("Remaining capacity (sum of active accounts' headroom): anthropic 0.03 of 1 account (mean 3%), 1 near limit", console.Output, StringComparison.Ordinal);
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task Setting_a_priority_through_the_accounts_screen_changes_it_and_shows_the_servers_refusal()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 4);                        // Set an account's priority
        Choose(console, 1);                        // beta
        console.Input.PushTextWithEnter("3");
        Choose(console, 4);                        // Set an account's priority
        Choose(console, 0);                        // alpha
        console.Input.PushTextWithEnter("5000");   // out of range: the server refuses
        Choose(console, 6);                        // Back

        await new AccountsScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.Equal(3, (await AccountAsync("beta")).GetProperty("priority").GetInt32());
        Assert.Equal(0, (await AccountAsync("alpha")).GetProperty("priority").GetInt32());
        Assert.Contains("Account 'beta' updated", console.Output);
        Assert.Contains("Failed: priority must be between 0 (most preferred) and 1000.", console.Output);
        // The table drawn after the change shows the new priority.
        Assert.Contains(console.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"│ beta\s+│ anthropic\s+│ api_key\s+│\s+3 │"));
    }

    [Fact]
    public async Task Requests_screen_shows_the_proxied_request()
    {
        using var console = NewConsole();

        await new RequestsScreen(_api, TimeProvider.System, new TuiOptions()).RenderAsync(console, default);

        var row = Assert.Single(console.Lines, l => l.Contains("/v1/anthropic/v1/messages", StringComparison.Ordinal));
        Assert.Contains("POST", row);
        Assert.Contains("alpha", row);
        Assert.Contains("200", row);
        Assert.Contains("claude-sonnet-4-5", row);
        Assert.Contains(" ms", row);
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task Live_requests_screen_refreshes_until_a_key_is_pressed()
    {
        using var console = NewConsole(interactive: true);
        console.Input.PushKey(ConsoleKey.Q);
        var options = new TuiOptions { PollInterval = TimeSpan.FromMilliseconds(50) };

        await new RequestsScreen(_api, TimeProvider.System, options).RunAsync(console, default).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("Live view: press any key", console.Output);
        Assert.Contains("/v1/anthropic/v1/messages", console.Output);
        Assert.False(console.Input.IsKeyAvailable());
        var streamExists = (await _host.Client.GetAsync("/api/requests/stream", HttpCompletionOption.ResponseHeadersRead)).StatusCode != HttpStatusCode.NotFound;
        Assert.Contains(streamExists ? "live stream (/api/requests/stream)" : "polling every", console.Output);
    }

    [Fact]
    public async Task Live_requests_screen_shows_a_new_request_as_it_happens()
    {
        using var streamProbe = await _host.Client.GetAsync("/api/requests/stream", HttpCompletionOption.ResponseHeadersRead);
        var streamExists = streamProbe.StatusCode != HttpStatusCode.NotFound;
        streamProbe.Dispose();
        // With the SSE stream, refreshes must come from its events (polling is pushed out of the test's reach).
        var options = streamExists
            ? new TuiOptions { PollInterval = TimeSpan.FromMinutes(10), StreamRefreshInterval = TimeSpan.FromMinutes(10) }
            : new TuiOptions { PollInterval = TimeSpan.FromMilliseconds(100) };
        using var console = NewConsole(interactive: true);
        using var stop = new CancellationTokenSource();

        var live = new RequestsScreen(_api, TimeProvider.System, options).RunAsync(console, stop.Token);
        await Task.Delay(500);
        using (var models = await _host.Client.GetAsync("/v1/anthropic/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        }
        await _host.DrainHistoryAsync();
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => live.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("/v1/anthropic/v1/messages", console.Output);
        Assert.Contains("/v1/anthropic/v1/models", console.Output);
    }

    [Fact]
    public async Task Stats_screen_shows_stats_or_says_not_available()
    {
        using var console = NewConsole();

        await new StatsScreen(_api, TimeProvider.System).RenderAsync(console, default);

        if ((await _host.Client.GetAsync("/api/stats")).StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Contains("Statistics not available on this server (404).", console.Output);
        }
        else
        {
            Assert.Matches(@"Total requests\s*│\s*1\s", console.Output);
            Assert.Contains("claude-sonnet-4-5", console.Output);
        }
    }

    [Fact]
    public async Task Analytics_screen_asks_for_a_range_and_shows_summaries_or_says_not_available()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 2);                        // 24h

        await new AnalyticsScreen(_api, TimeProvider.System).RunAsync(console, default);

        if ((await _host.Client.GetAsync("/api/analytics?range=24h")).StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Contains("Analytics not available on this server (404).", console.Output);
        }
        else
        {
            Assert.Contains("Range: 24h", console.Output);
            Assert.Matches(@"Total requests\s*│\s*1\s", console.Output);
        }
    }

    [Fact]
    public async Task Logs_screen_shows_entries_or_says_not_available()
    {
        using var console = NewConsole();

        await new LogsScreen(_api, TimeProvider.System, new TuiOptions()).RenderAsync(console, default);

        if ((await _host.Client.GetAsync("/api/logs/history")).StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Contains("Logs not available on this server (404).", console.Output);
        }
        else
        {
            Assert.True(console.Output.Contains("Message", StringComparison.Ordinal) || console.Output.Contains("No log entries.", StringComparison.Ordinal));
        }
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task Strategy_screen_lists_strategies_and_changes_the_servers_strategy()
    {
        using var console = NewConsole(interactive: true);
        Choose(console, 1);                        // round-robin

        await new StrategyScreen(_api, TimeProvider.System).RunAsync(console, default);

        Assert.Contains("Current strategy: session", console.Output);
        foreach (var name in new[] { "session", "round-robin", "least-requests", "weighted" })
        {
            Assert.Contains(name, console.Output);
        }
        Assert.Contains("Strategy set to 'round-robin'", console.Output);
        var config = await _host.Client.GetFromJsonAsync<JsonElement>("/api/config");
        Assert.Equal("round-robin", config.GetProperty("lbStrategy").GetString());
    }

    [Fact]
    public async Task Menu_navigates_to_a_screen_and_quits()
    {
        using var console = NewConsole(interactive: true);
        var app = new TuiApp(_api, TimeProvider.System);
        Choose(console, 0);                                   // Server
        Choose(console, app.Screens.Count - 1);               // Strategy
        Choose(console, 4);                                   // (keep current)
        Choose(console, app.Screens.Count);                   // Quit

        var exit = await app.RunAsync(console, default).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exit);
        Assert.Equal(["Server", "Accounts", "Requests", "Stats", "Analytics", "Logs", "Strategy"], app.Screens.Select(s => s.Title));
        Assert.Contains("Ccflare: choose a screen", console.Output);
        Assert.Matches(@"Status\s*│\s*ok", console.Output);
        Assert.Contains("Strategy unchanged (session).", console.Output);
    }

    [Fact]
    public async Task Without_an_interactive_terminal_every_screen_is_printed_once()
    {
        using var console = NewConsole();

        var exit = await new TuiApp(_api, TimeProvider.System).RunAsync(console, default);

        Assert.Equal(0, exit);
        foreach (var heading in new[] { "── Server", "── Accounts", "── Requests", "── Stats", "── Analytics", "── Logs", "── Strategy" })
        {
            Assert.Contains(heading, console.Output);
        }
        Assert.Contains("/v1/anthropic/v1/messages", console.Output);
        AssertNoSecrets(console);
    }

    [Fact]
    public async Task An_unreachable_server_gives_a_clear_error_not_an_exception()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{StandaloneProcess.FreePort()}/") };
        using var console = NewConsole();

        await new AccountsScreen(new CcflareApiClient(http), TimeProvider.System).RenderAsync(console, default);

        Assert.Contains("Could not load accounts: Cannot reach", console.Output);
    }
}
