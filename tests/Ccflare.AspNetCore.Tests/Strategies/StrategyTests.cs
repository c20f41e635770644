using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Strategies;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
// The strategy docs/strategies.md shows (routes to the account named in x-tenant first) is the one tested here.
using TenantStrategy = Ccflare.Tests.Docs.Snippets.TenantStrategy;

namespace Ccflare.Tests.Strategies;

/// <summary>A host strategy with a bug: it throws on every request.</summary>
public sealed class BrokenStrategy : ILoadBalancingStrategy
{
    public string Name => "broken";

    public void Order(in LoadBalancingContext context, List<AccountState> candidates) =>
        throw new InvalidOperationException("strategy bug with secret sk-ant-should-not-leak");
}

public sealed class StrategyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static AccountState State(string name, int minutesOld, long requests = 0, int weight = 1, DateTimeOffset? session = null) =>
        new(new Account
        {
            Id = name,
            Name = name,
            Provider = "anthropic",
            CreatedAt = Now.AddMinutes(-minutesOld),
            RequestCount = requests,
            Weight = weight,
            SessionStart = session,
        });

    private static LoadBalancingContext Context(long sessionMs = 18_000_000) =>
        new(new DefaultHttpContext(), "anthropic", Now, TimeSpan.FromMilliseconds(sessionMs));

    private static AccountRegistry Registry() =>
        new(new AccountStatePersister(TestStores.Accounts(new Ccflare.Storage.InMemoryStore()), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AccountStatePersister>.Instance));

    [Fact]
    public void Session_keeps_the_account_with_the_newest_live_session()
    {
        var a = State("a", 30, session: Now.AddHours(-2));
        var b = State("b", 20, session: Now.AddMinutes(-10));
        var c = State("c", 10);
        List<AccountState> candidates = [a, b, c];

        new SessionStrategy().Order(Context(), candidates);

        Assert.Equal(["b", "a", "c"], candidates.Select(x => x.Name));
    }

    [Fact]
    public void Session_keeps_the_order_and_changes_nothing_when_all_sessions_expired()
    {
        var expired = Now.AddHours(-6);
        var a = State("a", 30, session: expired);
        var b = State("b", 20);
        List<AccountState> candidates = [a, b];

        new SessionStrategy().Order(Context(), candidates);

        Assert.Equal(["a", "b"], candidates.Select(x => x.Name));
        Assert.Equal(expired, a.SessionStart);
        Assert.Null(b.SessionStart);
    }

    [Fact]
    public void Selecting_starts_a_session_when_none_is_active_and_serving_counts_in_it()
    {
        var registry = Registry();
        var a = registry.Add(new Account { Id = "a", Name = "a", Provider = "anthropic", SessionStart = Now.AddHours(-6), SessionRequestCount = 7 });
        var duration = TimeSpan.FromHours(5);

        registry.RecordSelection(a, Now, duration);
        Assert.Equal(Now, a.SessionStart);
        Assert.Equal(0, a.SessionRequestCount);
        registry.RecordServed(a, Now);
        Assert.Equal(1, a.SessionRequestCount);
        Assert.Equal(1, a.RequestCount);

        // A live session is kept.
        registry.RecordSelection(a, Now.AddMinutes(1), duration);
        registry.RecordServed(a, Now.AddMinutes(1));
        Assert.Equal(Now, a.SessionStart);
        Assert.Equal(2, a.SessionRequestCount);
        Assert.Equal(2, a.TotalRequests);
        Assert.Equal(Now.AddMinutes(1), a.LastUsed);
    }

    [Fact]
    public void Round_robin_rotates_the_first_account()
    {
        var strategy = new RoundRobinStrategy();
        var firsts = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            List<AccountState> candidates = [State("a", 3), State("b", 2), State("c", 1)];
            strategy.Order(Context(), candidates);
            firsts.Add(candidates[0].Name);
            Assert.Equal(3, candidates.Distinct().Count());
        }
        Assert.Equal(["a", "b", "c", "a", "b", "c"], firsts);
    }

    [Fact]
    public void Least_requests_prefers_the_least_used()
    {
        List<AccountState> candidates = [State("a", 3, requests: 10), State("b", 2, requests: 2), State("c", 1, requests: 5)];

        new LeastRequestsStrategy().Order(Context(), candidates);

        Assert.Equal(["b", "c", "a"], candidates.Select(x => x.Name));
    }

    [Fact]
    public void Weighted_orders_by_requests_per_weight()
    {
        List<AccountState> candidates = [State("light", 3, requests: 3, weight: 1), State("heavy", 2, requests: 6, weight: 3)];

        new WeightedStrategy().Order(Context(), candidates);

        // heavy: 7/3 = 2.33 < light: 4/1
        Assert.Equal(["heavy", "light"], candidates.Select(x => x.Name));
    }

    [Fact]
    public async Task Weighted_strategy_spreads_traffic_by_weight_end_to_end()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(o => o.LbStrategy = "weighted");
        await host.AddAccountAsync("w1", "openai", "k1", upstream.OpenAIBaseUrl, weight: 1);
        await host.AddAccountAsync("w3", "openai", "k3", upstream.OpenAIBaseUrl, weight: 3);

        for (var i = 0; i < 40; i++)
        {
            using var response = await host.Client.PostAsync("/v1/openai/chat/completions", new StringContent("""{"model":"gpt-4.1","messages":[]}""", Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }

        Assert.Equal(10, upstream.Received.Count(r => r.Credential == "k1"));
        Assert.Equal(30, upstream.Received.Count(r => r.Credential == "k3"));
    }

    [Fact]
    public async Task A_throwing_strategy_yields_a_json_500_without_internals_and_is_recorded()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(build: b => b.AddStrategy<BrokenStrategy>());
        await host.AddAccountAsync("acme", "anthropic", "key-acme", upstream.BaseUrl);
        using (var select = await host.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "broken" }))
        {
            Assert.Equal(HttpStatusCode.OK, select.StatusCode);
        }

        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(text);
        Assert.Contains("failed while proxying", body.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain("sk-ant", text);
        Assert.DoesNotContain("   at ", text);
        Assert.Empty(upstream.Received);

        await host.DrainHistoryAsync();
        var requests = await host.Client.GetFromJsonAsync<JsonElement>("/api/requests");
        var recorded = Assert.Single(requests.EnumerateArray());
        Assert.Equal(500, recorded.GetProperty("statusCode").GetInt32());
        Assert.False(recorded.GetProperty("success").GetBoolean());
        Assert.Equal(body.RootElement.GetProperty("details").GetProperty("requestId").GetString(), recorded.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Custom_strategy_is_listed_selectable_and_used()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(build: b => b.AddStrategy<TenantStrategy>());
        await host.AddAccountAsync("acme", "anthropic", "key-acme", upstream.BaseUrl);
        await host.AddAccountAsync("globex", "anthropic", "key-globex", upstream.BaseUrl);

        var names = await host.Client.GetFromJsonAsync<string[]>("/api/strategies");
        Assert.Contains("tenant", names!);
        using (var select = await host.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "tenant" }))
        {
            Assert.Equal(HttpStatusCode.OK, select.StatusCode);
        }

        foreach (var tenant in new[] { "globex", "acme", "globex" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
            {
                Content = new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("x-tenant", tenant);
            using var response = await host.Client.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        Assert.Equal(["key-globex", "key-acme", "key-globex"], upstream.Received.Select(r => r.Credential));
    }

    [Fact]
    public async Task Configured_strategy_must_exist_and_the_error_names_the_key()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => CcflareTestHost.StartAsync(o => o.LbStrategy = "fastest"));

        Assert.Contains("Ccflare:LbStrategy 'fastest' is not a registered strategy", ex.Message);
    }
}
