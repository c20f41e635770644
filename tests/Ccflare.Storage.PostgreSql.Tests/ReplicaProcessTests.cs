using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Npgsql;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// Two StandaloneServer processes (replicas A and B), each with its own data directory, on one
/// PostgreSQL database and one fake upstream. The periodic account reload is set to a minute, so
/// what B learns within a second came through LISTEN/NOTIFY; secrets added on one replica are read
/// by the other through the key ring stored in the database.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class ReplicaProcessTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private readonly List<DirectoryInfo> _dataDirs = [];
    private FakeUpstream _upstream = null!;
    private string _connectionString = null!;
    private StandaloneProcess _a = null!;
    private StandaloneProcess _b = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("replicas");
        // Both start at once on the empty database: the migration lock must let both come up.
        var replicas = await Task.WhenAll(StartReplicaAsync(), StartReplicaAsync());
        (_a, _b) = (replicas[0], replicas[1]);
    }

    private Task<StandaloneProcess> StartReplicaAsync()
    {
        var dataDir = Directory.CreateTempSubdirectory("ccflare-replica-");
        _dataDirs.Add(dataDir);
        var port = StandaloneProcess.FreePort();
        return StandaloneProcess.StartAsync(
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDir.FullName,
            "--storage", "postgres", "--connection-string", _connectionString,
            "--Ccflare:AccountReloadIntervalMs=60000",
        ], port);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _a.DisposeAsync();
        }
        finally
        {
            await _b.DisposeAsync();
            await _upstream.DisposeAsync();
            foreach (var dir in _dataDirs)
            {
                dir.Delete(recursive: true);
            }
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(StandaloneProcess replica, string model = "claude-sonnet-4-5", CancellationToken cancellationToken = default) =>
        await replica.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent($$"""{"model":"{{model}}","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            cancellationToken);

    private static async Task<string> AddAccountAsync(StandaloneProcess replica, string name, string key, string baseUrl)
    {
        using var response = await replica.Client.PostAsJsonAsync("/api/accounts", new { name, provider = "anthropic", api_key = key, base_url = baseUrl });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("account").GetProperty("id").GetString()!;
    }

    private static Task<JsonElement?> AccountAsync(StandaloneProcess replica, string name) => ReplicaProbes.AccountAsync(replica.Client, name);

    private Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 15) =>
        ReplicaProbes.WaitForAsync(output, condition, what, seconds);

    private static async Task<long> JsonNumberAsync(StandaloneProcess replica, string path, params string[] properties)
    {
        using var json = JsonDocument.Parse(await replica.Client.GetStringAsync(path));
        var element = json.RootElement;
        foreach (var property in properties)
        {
            element = element.GetProperty(property);
        }
        return element.GetInt64();
    }

    private async Task<long> RowsAsync(string model)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM requests WHERE model = @model;", connection);
        command.Parameters.AddWithValue("model", model);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_429_through_A_makes_B_skip_the_account_within_a_second()
    {
        await AddAccountAsync(_a, "first", "key-1", _upstream.BaseUrl);
        await AddAccountAsync(_a, "second", "key-2", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(_b, "second") is not null, "accounts on B");
        ReplicaProbes.RejectWithRateLimit(_upstream, "key-1");

        using (var response = await SendAsync(_a))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(["key-1", "key-2"], _upstream.Received.Select(r => r.Credential));

        var elapsed = await WaitForAsync(async () => (await AccountAsync(_b, "first"))!.Value.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean(),
            "rate limit on B");
        Assert.True(elapsed < Second, $"B honoured the rate limit after {elapsed.TotalMilliseconds} ms");
        _upstream.Received.Clear();
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync(_b);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.All(_upstream.Received, r => Assert.Equal("key-2", r.Credential));
    }

    [Fact]
    public async Task An_account_added_through_B_is_used_by_A()
    {
        await AddAccountAsync(_b, "from-b", "key-from-b", _upstream.BaseUrl);

        var elapsed = await WaitForAsync(async () => await AccountAsync(_a, "from-b") is not null, "account on A");
        Assert.True(elapsed < Second, $"A saw the account after {elapsed.TotalMilliseconds} ms");

        using var response = await SendAsync(_a);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The key was encrypted by B and decrypted by A: the key ring lives in the database.
        Assert.Equal("key-from-b", Assert.Single(_upstream.Received).Credential);
    }

    [Fact]
    public async Task Analytics_on_either_replica_count_the_requests_of_both()
    {
        await AddAccountAsync(_a, "acc", "key-1", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(_b, "acc") is not null, "account on B");

        for (var i = 0; i < 7; i++)
        {
            using var response = await SendAsync(_a);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync(_b);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var replica in new[] { _a, _b })
        {
            await WaitForAsync(async () => await JsonNumberAsync(replica, "/api/analytics?range=1h", "totals", "totalRequests") == 12, "analytics count 12");
            Assert.Equal(12, await JsonNumberAsync(replica, "/api/stats", "totalRequests"));
            using var recent = JsonDocument.Parse(await replica.Client.GetStringAsync("/api/requests?limit=50"));
            Assert.Equal(12, (recent.RootElement.ValueKind == JsonValueKind.Array ? recent.RootElement : recent.RootElement.GetProperty("requests")).GetArrayLength());
        }
    }

    /// <summary>
    /// "Acknowledged" means what Ccflare can honestly promise: the replica's writer reported the row
    /// written (<c>writeQueue.written</c> in <c>/api/stats</c> counts rows whose batch PostgreSQL
    /// committed). Rows still in A's in-memory queue when it is killed are lost; that window is
    /// documented. B, meanwhile, keeps serving and writes every row of its own.
    /// </summary>
    [Fact]
    public async Task Killing_A_under_load_loses_no_acknowledged_row_and_B_keeps_serving()
    {
        await AddAccountAsync(_a, "acc", "key-1", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(_b, "acc") is not null, "account on B");

        using var stop = new CancellationTokenSource();
        long completedA = 0, completedB = 0, failedB = 0;
        async Task LoadAsync(StandaloneProcess replica, string model, Action onOk, Action? onFail)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await SendAsync(replica, model, stop.Token);
                    if (response.IsSuccessStatusCode)
                    {
                        await response.Content.ReadAsStringAsync(stop.Token);
                        onOk();
                    }
                    else
                    {
                        onFail?.Invoke();
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                {
                    if (!stop.IsCancellationRequested)
                    {
                        onFail?.Invoke();
                    }
                }
            }
        }
        var load = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            load.Add(LoadAsync(_a, "model-a", () => Interlocked.Increment(ref completedA), null));
            load.Add(LoadAsync(_b, "model-b", () => Interlocked.Increment(ref completedB), () => Interlocked.Increment(ref failedB)));
        }

        // Watch A's acknowledgements until enough have accumulated, then kill it without warning.
        long acknowledgedA = 0;
        await WaitForAsync(async () =>
        {
            acknowledgedA = await JsonNumberAsync(_a, "/api/stats", "writeQueue", "written");
            return acknowledgedA >= 200;
        }, "A acknowledging 200 rows", seconds: 60);
        acknowledgedA = await JsonNumberAsync(_a, "/api/stats", "writeQueue", "written");
        var completedBeforeKill = Interlocked.Read(ref completedB);
        await _a.KillAsync();

        // B keeps serving after A is gone.
        await WaitForAsync(() => Task.FromResult(Interlocked.Read(ref completedB) >= completedBeforeKill + 100), "B serving 100 more requests after the kill", seconds: 60);
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Equal(0, Interlocked.Read(ref failedB));

        var rowsA = await RowsAsync("model-a");
        output.WriteLine($"A: {completedA} requests completed for clients, {acknowledgedA} rows acknowledged before the kill, {rowsA} rows stored; B: {completedB} completed, 0 failed");
        Assert.True(rowsA >= acknowledgedA, $"A acknowledged {acknowledgedA} rows but only {rowsA} are stored");
        Assert.True(rowsA <= Interlocked.Read(ref completedA) + 4, $"{rowsA} rows for {completedA} completed requests");

        // A graceful stop of B drains its queue: every request B completed is stored (plus at most the
        // four the load generator abandoned when it stopped, which B records too).
        Assert.Equal(0, await _b.StopAsync());
        var rowsB = await RowsAsync("model-b");
        Assert.InRange(rowsB, Interlocked.Read(ref completedB), Interlocked.Read(ref completedB) + 4);
    }
}
