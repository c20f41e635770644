using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Ccflare.Tests.OAuth;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// Two in-process Ccflare instances (real Kestrel) on one PostgreSQL database. The periodic reload is
/// set to a minute, so anything seen within a second came through LISTEN/NOTIFY.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class SharedStateTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private FakeUpstream _upstream = null!;
    private FakeAuthServer _auth = null!;
    private string _connectionString = null!;
    private CcflareTestHost _a = null!;
    private CcflareTestHost _b = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _auth = await FakeAuthServer.StartAsync();
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("shared");
        var hosts = await Task.WhenAll(StartReplicaAsync(), StartReplicaAsync());
        (_a, _b) = (hosts[0], hosts[1]);
    }

    private Task<CcflareTestHost> StartReplicaAsync(Action<CcflareOptions>? more = null) =>
        CcflareTestHost.StartAsync(configure: o =>
        {
            o.AccountReloadIntervalMs = 60_000;
            o.Providers["claude-code"] = new ProviderOptions { TokenUrl = _auth.TokenUrl, BaseUrl = _upstream.BaseUrl };
            more?.Invoke(o);
        }, build: c => c.UsePostgreSqlStorage(_connectionString));

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _auth.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static Task<HttpResponseMessage> SendAsync(CcflareTestHost host, string provider = "anthropic", string? accessKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/{provider}/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        if (accessKey is not null)
        {
            request.Headers.Add("x-api-key", accessKey);
        }
        return host.Client.SendAsync(request);
    }

    private static Task<JsonElement?> AccountAsync(CcflareTestHost host, string name) => ReplicaProbes.AccountAsync(host.Client, name);

    /// <summary>Polls <paramref name="condition"/> until it holds; returns how long that took (fails after 10 s).</summary>
    private Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, string what) => ReplicaProbes.WaitForAsync(output, condition, what, seconds: 10);

    [Fact]
    public async Task An_account_added_through_one_instance_serves_requests_on_the_other_within_a_second()
    {
        await _b.AddAccountAsync("added-on-b", "anthropic", "key-b", _upstream.BaseUrl);

        var elapsed = await WaitForAsync(async () => await AccountAsync(_a, "added-on-b") is not null, "account on A");
        Assert.True(elapsed < Second, $"A saw the account after {elapsed.TotalMilliseconds} ms");

        using var response = await SendAsync(_a);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("key-b", Assert.Single(_upstream.Received).Credential);
    }

    [Fact]
    public async Task A_rate_limit_seen_by_one_instance_makes_the_other_skip_the_account_within_a_second()
    {
        await _a.AddAccountAsync("first", "anthropic", "key-1", _upstream.BaseUrl);
        await _a.AddAccountAsync("second", "anthropic", "key-2", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(_b, "second") is not null, "accounts on B");
        ReplicaProbes.RejectWithRateLimit(_upstream, "key-1");

        using (var response = await SendAsync(_a))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var elapsed = await WaitForAsync(async () => (await AccountAsync(_b, "first"))!.Value.GetProperty("rateLimitStatus").GetProperty("isLimited").GetBoolean(),
            "rate limit on B");
        Assert.True(elapsed < Second, $"B honoured the rate limit after {elapsed.TotalMilliseconds} ms");

        _upstream.Received.Clear();
        using (var response = await SendAsync(_b))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(["key-2"], _upstream.Received.Select(r => r.Credential));
    }

    [Fact]
    public async Task The_session_started_on_one_instance_is_the_session_of_the_other()
    {
        await _a.AddAccountAsync("first", "anthropic", "key-1", _upstream.BaseUrl);
        await _a.AddAccountAsync("second", "anthropic", "key-2", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(_b, "second") is not null, "accounts on B");
        // A pauses "first" and serves a request: its session starts on "second". Then "first" is resumed.
        using (var pause = await _a.Client.PostAsync("/api/accounts/" + (await AccountAsync(_a, "first"))!.Value.GetProperty("id").GetString() + "/pause", null))
        {
            pause.EnsureSuccessStatusCode();
        }
        using (var response = await SendAsync(_a))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var resume = await _a.Client.PostAsync("/api/accounts/" + (await AccountAsync(_a, "first"))!.Value.GetProperty("id").GetString() + "/resume", null))
        {
            resume.EnsureSuccessStatusCode();
        }
        var elapsed = await WaitForAsync(async () =>
        {
            var first = await AccountAsync(_b, "first");
            var second = await AccountAsync(_b, "second");
            return !first!.Value.GetProperty("paused").GetBoolean() && second!.Value.GetProperty("sessionInfo").GetProperty("active").GetBoolean();
        }, "session and resume on B");
        Assert.True(elapsed < Second, $"B saw the session after {elapsed.TotalMilliseconds} ms");

        // Without the shared session B would start its own on "first", the older account.
        _upstream.Received.Clear();
        using (var response = await SendAsync(_b))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(["key-2"], _upstream.Received.Select(r => r.Credential));
    }

    [Fact]
    public async Task Instances_started_together_encrypting_their_first_secrets_at_once_read_each_others()
    {
        // Both instances started together on the empty database (InitializeAsync); both encrypt now.
        await Task.WhenAll(_a.AddAccountAsync("on-a", "anthropic", "key-a", _upstream.BaseUrl), _b.AddAccountAsync("on-b", "anthropic", "key-b", _upstream.BaseUrl));

        foreach (var (host, other) in new[] { (_a, "on-b"), (_b, "on-a") })
        {
            await WaitForAsync(async () => await AccountAsync(host, other) is not null, other + " on the other instance");
            Assert.Equal("valid", (await AccountAsync(host, other))!.Value.GetProperty("tokenStatus").GetString());
        }
        await using var connection = new Npgsql.NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM data_protection_keys;", connection);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_strategy_change_on_one_instance_applies_on_the_other_within_a_second()
    {
        using (var response = await _a.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "round-robin" }))
        {
            response.EnsureSuccessStatusCode();
        }

        var elapsed = await WaitForAsync(async () => (await _b.Client.GetStringAsync("/api/config/strategy")).Contains("round-robin", StringComparison.Ordinal), "strategy on B");
        Assert.True(elapsed < Second, $"B switched after {elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task An_access_key_created_on_one_instance_works_on_the_other()
    {
        await using var a = await StartReplicaAsync(o => o.RequireAccessKeys = true);
        await using var b = await StartReplicaAsync(o => o.RequireAccessKeys = true);
        await a.AddAccountAsync("acc", "anthropic", "key-1", _upstream.BaseUrl);
        await WaitForAsync(async () => await AccountAsync(b, "acc") is not null, "account on B");
        // B meets an unknown key first (that reload is rate limited to one per 5 s), so only the notification can teach it the new one in time.
        using (var unknown = await SendAsync(b, accessKey: Ccflare.Security.AccessKeys.Generate()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        using var created = await a.Client.PostAsJsonAsync("/api/users", new { name = "alice" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var json = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = json.RootElement.GetProperty("key").GetString()!;

        var elapsed = await WaitForAsync(async () =>
        {
            using var response = await SendAsync(b, accessKey: key);
            return response.StatusCode == HttpStatusCode.OK;
        }, "key accepted by B");
        Assert.True(elapsed < Second, $"B accepted the key after {elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Concurrent_requests_on_both_instances_refresh_an_expiring_oauth_token_once()
    {
        using (var response = await _a.Client.PostAsJsonAsync("/api/accounts", new
        {
            name = "max",
            provider = "claude-code",
            auth_method = "oauth",
            access_token = "at-old",
            refresh_token = "rt-old",
            expires_at = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
        }))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        await WaitForAsync(async () => await AccountAsync(_b, "max") is not null, "account on B");
        _auth.Delay = TimeSpan.FromMilliseconds(300);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => SendAsync(i % 2 == 0 ? _a : _b, "claude-code")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }
        Assert.True(_auth.RefreshCalls == 1, "refresh tokens sent: " + string.Join(", ", _auth.Requests.Select(r => r["refresh_token"])));
        Assert.Equal("rt-old", Assert.Single(_auth.Requests)["refresh_token"]);
        Assert.DoesNotContain(_upstream.Received, r => r.Credential == "at-old");
    }
}
