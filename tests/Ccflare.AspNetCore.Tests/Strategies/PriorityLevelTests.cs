using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Strategies;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Strategies;

/// <summary>Every strategy orders only the most preferred priority level that has a usable account; failover walks down the levels.</summary>
public sealed class PriorityLevelTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    internal static AccountState State(string name, int priority, int minutesOld, DateTimeOffset? session = null) =>
        new(new Account
        {
            Id = name,
            Name = name,
            Provider = "anthropic",
            CreatedAt = Now.AddMinutes(-minutesOld),
            Priority = priority,
            SessionStart = session,
        });

    internal static LoadBalancingContext Context() => new(new DefaultHttpContext(), "anthropic", Now, TimeSpan.FromHours(5));

    internal static AccountRegistry Registry() =>
        new(new AccountStatePersister(TestStores.Accounts(new Ccflare.Storage.InMemoryStore()), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AccountStatePersister>.Instance));

    internal static CandidateOrdering Ordering(bool returnToPreferred = true) => Ordering(returnToPreferred, out _);

    internal static CandidateOrdering Ordering(bool returnToPreferred, out NearLimitPolicy policy, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        var options = new CcflareOptions();
        options.Usage.ReturnToPreferred = returnToPreferred;
        var wrapped = Options.Create(options);
        var metrics = new CcflareMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        policy = new NearLimitPolicy(wrapped, Registry(), time ?? new FakeTimeProvider(Now), metrics, (loggers ?? NullLoggerFactory.Instance).CreateLogger<NearLimitPolicy>());
        return new CandidateOrdering(wrapped, policy);
    }

    /// <summary>Orders as the proxy does; true when a near-limit account was passed over (a pre-emptive switch).</summary>
    internal static bool Order(CandidateOrdering ordering, ILoadBalancingStrategy strategy, List<AccountState> candidates, string? model = null)
    {
        var requestModel = new RequestModel(model, default);
        return ordering.Order(strategy, Context(), candidates, ref requestModel);
    }

    public static TheoryData<string> StrategyNames => ["session", "round-robin", "least-requests", "weighted", "reset-aware"];

    internal static ILoadBalancingStrategy Strategy(string name) => name switch
    {
        "session" => new SessionStrategy(),
        "round-robin" => new RoundRobinStrategy(),
        "least-requests" => new LeastRequestsStrategy(),
        "reset-aware" => new ResetAwareStrategy(),
        _ => new WeightedStrategy(),
    };

    [Theory]
    [MemberData(nameof(StrategyNames))]
    public void Every_strategy_orders_the_preferred_level_first_then_walks_down(string name)
    {
        var strategy = Strategy(name);
        for (var round = 0; round < 3; round++)
        {
            List<AccountState> candidates = [State("backup", 1, 40), State("main-a", 0, 30), State("last", 2, 50), State("main-b", 0, 20), State("backup-2", 1, 10)];

            Order(Ordering(), strategy, candidates);

            Assert.Equal(["main-a", "main-b"], candidates.Take(2).Select(c => c.Name).Order());
            Assert.Equal(["backup", "backup-2", "last"], candidates.Skip(2).Select(c => c.Name));
        }
    }

    [Theory]
    [MemberData(nameof(StrategyNames))]
    public void Without_the_preferred_level_the_next_level_is_ordered_by_the_strategy(string name)
    {
        List<AccountState> candidates = [State("last", 2, 50), State("backup", 1, 40), State("backup-2", 1, 10)];

        Order(Ordering(), Strategy(name), candidates);

        Assert.Equal(["backup", "backup-2"], candidates.Take(2).Select(c => c.Name).Order());
        Assert.Equal("last", candidates[2].Name);
    }

    [Fact]
    public void A_session_goes_back_to_the_preferred_level()
    {
        var spare = State("spare", 1, 10, session: Now.AddMinutes(-20));
        var pref = State("pref", 0, 20, session: Now.AddHours(-6));
        List<AccountState> candidates = [pref, spare];

        Order(Ordering(), new SessionStrategy(), candidates);

        Assert.Equal(["pref", "spare"], candidates.Select(c => c.Name));
    }

    [Fact]
    public void With_return_to_preferred_off_a_session_stays_on_its_usable_account()
    {
        var spare = State("spare", 1, 10, session: Now.AddMinutes(-20));
        var pref = State("pref", 0, 20);
        List<AccountState> candidates = [pref, spare];

        Order(Ordering(returnToPreferred: false), new SessionStrategy(), candidates);

        Assert.Equal(["spare", "pref"], candidates.Select(c => c.Name));
    }

    [Fact]
    public async Task A_session_fails_over_to_the_spare_level_and_returns_to_the_preferred_account_after_its_reset()
    {
        var time = new FakeTimeProvider(Now);
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(time: time);
        using (var created = await host.Client.PostAsync("/api/accounts", Json($$"""{"name":"spare","provider":"anthropic","api_key":"key-spare","base_url":"{{upstream.BaseUrl}}","priority":1}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        time.Advance(TimeSpan.FromSeconds(1));
        using (var created = await host.Client.PostAsync("/api/accounts", Json($$"""{"name":"pref","provider":"anthropic","api_key":"key-pref","base_url":"{{upstream.BaseUrl}}","priority":0}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // pref, though added last, is preferred.
        await SendAsync(host);
        Assert.Equal(["key-pref"], upstream.Received.Select(r => r.Credential));

        var reset = time.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        upstream.ScriptFor("key-pref", (context, _) => FakeUpstream.WriteJsonAsync(context, 429,
            """{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""",
            new Dictionary<string, string> { ["anthropic-ratelimit-unified-status"] = "rejected", ["anthropic-ratelimit-unified-reset"] = reset }));
        await SendAsync(host);
        await SendAsync(host);
        Assert.Equal(["key-pref", "key-pref", "key-spare", "key-spare"], upstream.Received.Select(r => r.Credential));

        upstream.ClearScript("key-pref");
        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await SendAsync(host);
        Assert.Equal("key-pref", upstream.Received.Last().Credential);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task SendAsync(CcflareTestHost host)
    {
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", Json("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
