using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.History;

/// <summary>
/// The standalone server as a child process under concurrent JSON and SSE load, stopped by SIGKILL
/// or SIGTERM, then restarted: every request whose response the client read to the end has its
/// history row, once, and each account's request counter equals its rows.
/// </summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private const string Credential = "sk-ant-crash-test";
    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-crash-");
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        // Messages answer with an announced length, as the real API does, so the last body chunk
        // (not the end of the handler) is what completes the response for the client.
        _upstream.Override = async (context, request) =>
        {
            if (request.Body.Contains("\"stream\":true", StringComparison.Ordinal))
            {
                await FakeUpstream.DefaultAsync(context, request);
                return;
            }
            var body = Encoding.UTF8.GetBytes(WireFormats.AnthropicMessage("claude-sonnet-4-5", "Hello from fake"));
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        };
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _dataDir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task Sigkill_under_load_loses_no_acknowledged_request_and_counters_equal_rows(string storage)
    {
        var completed = await RunLoadThenStopAsync(storage, kill: true);

        await using (await StartAsync(storage))
        {
        }
        await AssertHistoryAsync(storage, completed);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task Sigterm_under_load_loses_no_acknowledged_request(string storage)
    {
        var completed = await RunLoadThenStopAsync(storage, kill: false);

        // A graceful stop writes every row itself and leaves no journal to replay.
        Assert.Empty(Directory.GetFiles(_dataDir.FullName, "history-*.journal"));
        await AssertHistoryAsync(storage, completed);
        await using (await StartAsync(storage))
        {
        }
        await AssertHistoryAsync(storage, completed);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task A_replay_cut_short_by_another_sigkill_leaves_no_duplicates_and_keeps_payloads(string storage)
    {
        var completed = await RunLoadThenStopAsync(storage, kill: true);
        var journal = Directory.GetFiles(_dataDir.FullName, "history-*.journal").ToDictionary(f => f, File.ReadAllBytes);
        Assert.NotEmpty(journal);
        var stored = await ReadHistoryAsync(storage);

        // Killed again while starting: before, during or just after the replay, the next start must converge.
        // The journal's lock file appears right before the replay starts.
        File.Delete(Path.Combine(_dataDir.FullName, "history.lock"));
        var port = StandaloneProcess.FreePort();
        await using (var interrupted = StandaloneProcess.Launch(Args(storage, port), port))
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(Path.Combine(_dataDir.FullName, "history.lock")) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1);
            }
            await interrupted.KillAsync();
        }
        await using (await StartAsync(storage))
        {
        }
        // And a replay that finished but whose journal was not yet emptied when the process died.
        foreach (var (path, bytes) in journal)
        {
            File.WriteAllBytes(path, bytes);
        }
        await using (await StartAsync(storage))
        {
        }

        var history = await AssertHistoryAsync(storage, completed);
        foreach (var row in stored.Rows.Where(r => r.Payload is not null))
        {
            // A row the store already had is skipped by the replay, not replaced by its payload-less journal copy.
            Assert.NotNull(history.Rows.Single(r => r.Id == row.Id).Payload);
        }
    }

    private string[] Args(string storage, int port) =>
        ["--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName, "--storage", storage];

    private async Task<StandaloneProcess> StartAsync(string storage)
    {
        var port = StandaloneProcess.FreePort();
        return await StandaloneProcess.StartAsync(Args(storage, port), port);
    }

    /// <summary>
    /// Drives concurrent JSON and SSE requests until some have completed, then stops the server
    /// (SIGKILL or SIGTERM) with requests still in flight. Returns the numbers of the requests whose
    /// response the client read to the end.
    /// </summary>
    private async Task<ConcurrentDictionary<int, bool>> RunLoadThenStopAsync(string storage, bool kill)
    {
        var completed = new ConcurrentDictionary<int, bool>();
        await using var server = await StartAsync(storage);
        // Two accounts taking turns, so the counters are checked per account.
        foreach (var (name, credential) in new[] { ("crash", Credential), ("crash-2", Credential + "-2") })
        {
            using var add = await server.Client.PostAsync("/api/accounts", new StringContent(
                $$"""{"name":"{{name}}","provider":"anthropic","api_key":"{{credential}}","base_url":"{{_upstream.BaseUrl}}"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
        }
        using (var strategy = await server.Client.PostAsync("/api/config/strategy", new StringContent("""{"strategy":"round-robin"}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(strategy.IsSuccessStatusCode, await strategy.Content.ReadAsStringAsync());
        }

        using var stop = new CancellationTokenSource();
        var next = 0;
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = server.Client.BaseAddress };
        var workers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                var stream = n % 2 == 0;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/anthropic/v1/messages?n={n}")
                    {
                        Content = new StringContent(
                            $$"""{"model":"claude-sonnet-4-5","max_tokens":16,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi {{n}}"}]}""",
                            Encoding.UTF8, "application/json"),
                    };
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    var body = await response.Content.ReadAsStringAsync();
                    // Read to the end: the SSE stream ended cleanly, the JSON is whole.
                    if (response.StatusCode == HttpStatusCode.OK && (stream ? body.Contains("message_stop", StringComparison.Ordinal) : body.EndsWith('}')))
                    {
                        completed[n] = stream;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    if (!stop.IsCancellationRequested)
                    {
                        await Task.Delay(5);
                    }
                }
            }
        })).ToArray();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (completed.Count < 400 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(completed.Count >= 100, $"only {completed.Count} requests completed before the stop:\n{server.Output}");
        if (kill)
        {
            await server.KillAsync();
        }
        else
        {
            await server.StopAsync();
        }
        stop.Cancel();
        await Task.WhenAll(workers);
        Assert.Contains(completed.Values, streamed => streamed);
        Assert.Contains(completed.Values, streamed => !streamed);
        return completed;
    }

    private sealed record History(IReadOnlyList<RequestRecord> Rows, IReadOnlyList<Account> Accounts);

    private async Task<History> ReadHistoryAsync(string storage)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var ccflare = services.AddCcflare();
        var path = Path.Combine(_dataDir.FullName, storage == "litedb" ? "ccflare.litedb" : "ccflare.db");
        if (storage == "litedb")
        {
            ccflare.UseLiteDbStorage(path);
        }
        else
        {
            ccflare.UseSqliteStorage(path);
        }
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ICcflareStore>();
        await store.InitializeAsync(CancellationToken.None);
        var rows = new List<RequestRecord>();
        await foreach (var row in store.QueryRequestsAsync(new RequestQuery(), CancellationToken.None))
        {
            rows.Add(await store.GetRequestAsync(row.Id, CancellationToken.None) ?? row);
        }
        return new History(rows, await store.GetAccountsAsync(CancellationToken.None));
    }

    private async Task<History> AssertHistoryAsync(string storage, ConcurrentDictionary<int, bool> completed)
    {
        var history = await ReadHistoryAsync(storage);
        var byNumber = history.Rows
            .Where(r => r.Path.Contains("?n=", StringComparison.Ordinal))
            .GroupBy(r => int.Parse(r.Path[(r.Path.IndexOf("?n=", StringComparison.Ordinal) + 3)..], CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.ToList());

        var missing = completed.Keys.Where(n => !byNumber.ContainsKey(n)).Order().ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {completed.Count} acknowledged requests have no row: {string.Join(", ", missing.Take(20))}");
        Assert.All(byNumber, pair => Assert.Single(pair.Value));
        foreach (var n in completed.Keys)
        {
            var row = byNumber[n][0];
            Assert.Equal(200, row.StatusCode);
            Assert.Equal(5, row.OutputTokens);
        }

        Assert.Equal(2, history.Accounts.Count);
        foreach (var account in history.Accounts)
        {
            var rowsOfAccount = history.Rows.Count(r => r.AccountUsed == account.Id);
            Assert.True(rowsOfAccount > 0, $"account {account.Name} served no request");
            Assert.True(rowsOfAccount == account.TotalRequests, $"account {account.Name}: totalRequests {account.TotalRequests}, rows {rowsOfAccount}");
            Assert.True(rowsOfAccount == account.RequestCount, $"account {account.Name}: requestCount {account.RequestCount}, rows {rowsOfAccount}");
        }
        return history;
    }
}
